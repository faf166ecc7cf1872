import { findApprovedLesson, loginDigest, type Capture, type Policy } from '@lantern/protocol';

/** Where a capture's approved-lesson flag is checked: the version of its site's policy it names. */
export type PolicyVersionLookup = (siteId: string, version: string) => Promise<Policy | undefined>;

/**
 * The approved-lesson flags of a batch as the collector stores them. A capture in an
 * approved lesson does not alert, so the collector does not take a device's word for it: the
 * flag stays only when the policy version the capture says its device applied
 * (`flags.policyVersion`, one the collector made for that site) holds the exemption it names,
 * and that exemption covers the capture by the same rule the agent applies
 * (findApprovedLesson: the capture's user in its groups, its time, every category). Else the
 * flag is cleared and the capture alerts like any other. A version is checked rather than
 * the current policy so a laptop that was offline in a lesson keeps its flag when it uploads
 * after the lesson has ended (and left the policy); a technician's local policy file
 * (`policy.local.json`) is not a version the collector made, so its lessons never exempt.
 * @returns the captures to store, and the ids of those whose flag was cleared.
 */
export async function checkApprovedLessons(
  batch: readonly Capture[],
  policyVersion: PolicyVersionLookup,
): Promise<{ captures: Capture[]; cleared: Capture[] }> {
  const cleared: Capture[] = [];
  const captures: Capture[] = [];
  for (const capture of batch) {
    const { flags } = capture;
    if (!flags.inApprovedLesson || (await covered(capture, policyVersion))) {
      captures.push(capture);
      continue;
    }
    cleared.push(capture);
    captures.push({
      ...capture,
      flags: { inApprovedLesson: false, exemptionId: null, policyVersion: flags.policyVersion },
    });
  }
  return { captures, cleared };
}

async function covered(capture: Capture, policyVersion: PolicyVersionLookup): Promise<boolean> {
  const policy = await policyVersion(capture.siteId, capture.flags.policyVersion);
  const exemption = policy?.exemptions.find(({ id }) => id === capture.flags.exemptionId);
  if (!policy || !exemption) return false;
  const lesson = findApprovedLesson(
    { exemptions: [exemption], groupMembers: policy.groupMembers },
    {
      loginDigest: await loginDigest(capture.siteId, capture.loginName),
      categories: capture.categories,
      observedAt: capture.observedAt,
    },
  );
  return lesson !== undefined;
}
