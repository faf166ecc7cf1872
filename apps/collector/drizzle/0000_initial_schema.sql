CREATE TYPE "public"."actor_kind" AS ENUM('user', 'device', 'system');--> statement-breakpoint
CREATE TYPE "public"."capture_status" AS ENUM('new', 'in_review', 'false_positive', 'no_further_action', 'escalated', 'in_concern');--> statement-breakpoint
CREATE TYPE "public"."screenshot_omitted" AS ENUM('policy_off', 'never_for_category', 'failed', 'not_applicable');--> statement-breakpoint
CREATE TYPE "public"."capture_source" AS ENUM('window_title', 'typed', 'clipboard');--> statement-breakpoint
CREATE TYPE "public"."concern_action" AS ENUM('note', 'refer_class_teacher', 'refer_head_of_year', 'refer_headteacher', 'refer_police', 'refer_technical_support', 'inform_parents', 'remove_access', 'warning', 'further_sanction', 'refer_social_care', 'refer_lado', 'refer_prevent');--> statement-breakpoint
CREATE TYPE "public"."concern_status" AS ENUM('open', 'closed');--> statement-breakpoint
CREATE TYPE "public"."platform" AS ENUM('windows', 'macos', 'linux');--> statement-breakpoint
CREATE TYPE "public"."session_state" AS ENUM('active', 'locked', 'switched_out', 'logged_out');--> statement-breakpoint
CREATE TYPE "public"."subject_kind" AS ENUM('pupil', 'staff');--> statement-breakpoint
CREATE TYPE "public"."staff_role" AS ENUM('dsl', 'deputy_dsl', 'headteacher', 'technician', 'governor', 'org_admin');--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"site_id" uuid,
	"actor_kind" "actor_kind" NOT NULL,
	"actor_id" uuid,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"reason" text,
	"details" jsonb,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "capture_matches" (
	"capture_id" uuid NOT NULL,
	"ordinal" smallint NOT NULL,
	"term_id" text NOT NULL,
	"category" text NOT NULL,
	"severity" smallint NOT NULL,
	"span_start" integer NOT NULL,
	"span_end" integer NOT NULL,
	"stage" text NOT NULL,
	CONSTRAINT "capture_matches_capture_id_ordinal_pk" PRIMARY KEY("capture_id","ordinal")
);
--> statement-breakpoint
CREATE TABLE "captures" (
	"id" uuid PRIMARY KEY NOT NULL,
	"site_id" uuid NOT NULL,
	"device_id" uuid NOT NULL,
	"subject_id" uuid,
	"subject_kind" "subject_kind" DEFAULT 'pupil' NOT NULL,
	"observed_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"source" "capture_source" NOT NULL,
	"app_name" text NOT NULL,
	"app_id" text,
	"window_title" text NOT NULL,
	"login_name" text NOT NULL,
	"context" text NOT NULL,
	"severity" smallint NOT NULL,
	"categories" text[] NOT NULL,
	"lexicon_version" text NOT NULL,
	"policy_version" text NOT NULL,
	"in_approved_lesson" boolean DEFAULT false NOT NULL,
	"exemption_id" uuid,
	"screenshot_sha256" text,
	"screenshot_sensitive" boolean DEFAULT false NOT NULL,
	"screenshot_omitted" "screenshot_omitted",
	"status" "capture_status" DEFAULT 'new' NOT NULL,
	"concern_id" uuid
);
--> statement-breakpoint
CREATE TABLE "screenshots" (
	"sha256" text PRIMARY KEY NOT NULL,
	"media_type" text NOT NULL,
	"bytes" integer NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"stored_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "concern_actions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"concern_id" uuid NOT NULL,
	"action" "concern_action" NOT NULL,
	"note" text DEFAULT '' NOT NULL,
	"actor_id" uuid,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "concerns" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"site_id" uuid NOT NULL,
	"subject_id" uuid,
	"title" text NOT NULL,
	"status" "concern_status" DEFAULT 'open' NOT NULL,
	"assignee_id" uuid,
	"outcome" text,
	"legal_hold" boolean DEFAULT false NOT NULL,
	"opened_by" uuid,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"closed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"site_id" uuid NOT NULL,
	"hostname" text NOT NULL,
	"platform" "platform" NOT NULL,
	"os_release" text NOT NULL,
	"arch" text NOT NULL,
	"agent_version" text NOT NULL,
	"credential_hash" text NOT NULL,
	"enrolled_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enrolment_token_id" uuid,
	"revoked_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone,
	"last_login_name" text,
	"last_session" "session_state",
	"health" jsonb,
	"policy_version" text
);
--> statement-breakpoint
CREATE TABLE "enrolment_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"site_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"label" text DEFAULT '' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"max_uses" integer NOT NULL,
	"use_count" integer DEFAULT 0 NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "organisations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sites" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organisation_id" uuid NOT NULL,
	"name" text NOT NULL,
	"urn" text,
	"timezone" text DEFAULT 'Europe/London' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "exemptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"site_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"groups" text[] NOT NULL,
	"categories" text[] NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"approved_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"site_id" uuid NOT NULL,
	"version" text NOT NULL,
	"body" jsonb NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "site_lexicon_overrides" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"site_id" uuid NOT NULL,
	"override" jsonb NOT NULL,
	"reason" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"removed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "subject_logins" (
	"site_id" uuid NOT NULL,
	"login_name" text NOT NULL,
	"subject_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subjects" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"site_id" uuid NOT NULL,
	"kind" "subject_kind" NOT NULL,
	"mis_id" text NOT NULL,
	"given_name" text NOT NULL,
	"family_name" text NOT NULL,
	"year_group" text,
	"tutor_group" text,
	"send" boolean DEFAULT false NOT NULL,
	"eal" boolean DEFAULT false NOT NULL,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL,
	"left_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "staff_roles" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"site_id" uuid,
	"role" "staff_role" NOT NULL,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "staff_roles_unique" UNIQUE NULLS NOT DISTINCT("user_id","site_id","role")
);
--> statement-breakpoint
CREATE TABLE "staff_users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organisation_id" uuid NOT NULL,
	"email" text NOT NULL,
	"display_name" text NOT NULL,
	"password_hash" text NOT NULL,
	"totp_secret" text,
	"failed_logins" integer DEFAULT 0 NOT NULL,
	"locked_until" timestamp with time zone,
	"disabled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "capture_matches" ADD CONSTRAINT "capture_matches_capture_id_captures_id_fk" FOREIGN KEY ("capture_id") REFERENCES "public"."captures"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "captures" ADD CONSTRAINT "captures_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "captures" ADD CONSTRAINT "captures_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "captures" ADD CONSTRAINT "captures_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "captures" ADD CONSTRAINT "captures_concern_id_concerns_id_fk" FOREIGN KEY ("concern_id") REFERENCES "public"."concerns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "concern_actions" ADD CONSTRAINT "concern_actions_concern_id_concerns_id_fk" FOREIGN KEY ("concern_id") REFERENCES "public"."concerns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "concern_actions" ADD CONSTRAINT "concern_actions_actor_id_staff_users_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "concerns" ADD CONSTRAINT "concerns_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "concerns" ADD CONSTRAINT "concerns_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "concerns" ADD CONSTRAINT "concerns_assignee_id_staff_users_id_fk" FOREIGN KEY ("assignee_id") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "concerns" ADD CONSTRAINT "concerns_opened_by_staff_users_id_fk" FOREIGN KEY ("opened_by") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "enrolment_tokens" ADD CONSTRAINT "enrolment_tokens_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "enrolment_tokens" ADD CONSTRAINT "enrolment_tokens_created_by_staff_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sites" ADD CONSTRAINT "sites_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exemptions" ADD CONSTRAINT "exemptions_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exemptions" ADD CONSTRAINT "exemptions_approved_by_staff_users_id_fk" FOREIGN KEY ("approved_by") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_created_by_staff_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "site_lexicon_overrides" ADD CONSTRAINT "site_lexicon_overrides_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "site_lexicon_overrides" ADD CONSTRAINT "site_lexicon_overrides_created_by_staff_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subject_logins" ADD CONSTRAINT "subject_logins_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subject_logins" ADD CONSTRAINT "subject_logins_subject_id_subjects_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."subjects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subjects" ADD CONSTRAINT "subjects_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_roles" ADD CONSTRAINT "staff_roles_user_id_staff_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_roles" ADD CONSTRAINT "staff_roles_site_id_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."sites"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_users" ADD CONSTRAINT "staff_users_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_site_at_idx" ON "audit_log" USING btree ("site_id","at");--> statement-breakpoint
CREATE INDEX "audit_log_target_idx" ON "audit_log" USING btree ("target_type","target_id");--> statement-breakpoint
CREATE INDEX "capture_matches_term_idx" ON "capture_matches" USING btree ("term_id");--> statement-breakpoint
CREATE INDEX "captures_triage_idx" ON "captures" USING btree ("site_id","status","severity" DESC NULLS FIRST,"observed_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "captures_site_time_idx" ON "captures" USING btree ("site_id","observed_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "captures_subject_time_idx" ON "captures" USING btree ("subject_id","observed_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "captures_device_time_idx" ON "captures" USING btree ("device_id","observed_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "captures_concern_idx" ON "captures" USING btree ("concern_id");--> statement-breakpoint
CREATE INDEX "concern_actions_concern_idx" ON "concern_actions" USING btree ("concern_id","at");--> statement-breakpoint
CREATE INDEX "concerns_site_status_idx" ON "concerns" USING btree ("site_id","status","opened_at");--> statement-breakpoint
CREATE INDEX "concerns_subject_idx" ON "concerns" USING btree ("subject_id");--> statement-breakpoint
CREATE INDEX "devices_site_idx" ON "devices" USING btree ("site_id");--> statement-breakpoint
CREATE UNIQUE INDEX "devices_credential_idx" ON "devices" USING btree ("credential_hash");--> statement-breakpoint
CREATE INDEX "devices_site_last_seen_idx" ON "devices" USING btree ("site_id","last_seen_at");--> statement-breakpoint
CREATE UNIQUE INDEX "enrolment_tokens_hash_idx" ON "enrolment_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "enrolment_tokens_site_idx" ON "enrolment_tokens" USING btree ("site_id");--> statement-breakpoint
CREATE INDEX "sites_organisation_idx" ON "sites" USING btree ("organisation_id");--> statement-breakpoint
CREATE INDEX "exemptions_site_window_idx" ON "exemptions" USING btree ("site_id","starts_at","ends_at");--> statement-breakpoint
CREATE UNIQUE INDEX "policies_site_version_idx" ON "policies" USING btree ("site_id","version");--> statement-breakpoint
CREATE INDEX "policies_site_created_idx" ON "policies" USING btree ("site_id","created_at");--> statement-breakpoint
CREATE INDEX "site_lexicon_overrides_site_idx" ON "site_lexicon_overrides" USING btree ("site_id");--> statement-breakpoint
CREATE UNIQUE INDEX "subject_logins_site_login_idx" ON "subject_logins" USING btree ("site_id","login_name");--> statement-breakpoint
CREATE INDEX "subject_logins_subject_idx" ON "subject_logins" USING btree ("subject_id");--> statement-breakpoint
CREATE UNIQUE INDEX "subjects_site_mis_idx" ON "subjects" USING btree ("site_id","mis_id");--> statement-breakpoint
CREATE INDEX "staff_roles_site_idx" ON "staff_roles" USING btree ("site_id");--> statement-breakpoint
CREATE UNIQUE INDEX "staff_users_email_idx" ON "staff_users" USING btree ("email");