DROP INDEX "devices_site_idx";--> statement-breakpoint
DROP INDEX "enrolment_tokens_site_idx";--> statement-breakpoint
CREATE INDEX "devices_site_hostname_idx" ON "devices" USING btree ("site_id","hostname","id");--> statement-breakpoint
CREATE INDEX "enrolment_tokens_site_created_idx" ON "enrolment_tokens" USING btree ("site_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "staff_users_organisation_email_idx" ON "staff_users" USING btree ("organisation_id","email");