import type { HostContext } from '../host/hostContext.js';
import { defineXml, dumpXml } from '../host/virsh.js';
import { getSettings, parseDomainXml } from '../model/domainXml.js';
import { unappliedChanges } from '../model/editReadBack.js';
import { UserError } from '../model/userError.js';

/**
 * Defines an edited guest and reads the definition back: an edit libvirt accepted but did not
 * keep is an error, and the definition the guest had before is put back, so an edit is either
 * there as asked or not there at all. The console's settings and `virtdeck guest edit` both end here.
 * `beforeXml` is the inactive XML the edit started from.
 */
export async function defineEdited(host: HostContext, beforeXml: string, afterXml: string): Promise<void> {
  const before = getSettings(parseDomainXml(beforeXml));
  const wanted = getSettings(parseDomainXml(afterXml));
  await defineXml(host, afterXml, { validate: true });
  const got = getSettings(parseDomainXml(await dumpXml(host, wanted.name, { inactive: true })));
  const missed = unappliedChanges(before, wanted, got);
  if (missed.length === 0) return;
  let restored = true;
  try {
    await defineXml(host, beforeXml);
  } catch {
    restored = false;
  }
  throw new UserError(
    `libvirt accepted the new definition of ${wanted.name} but did not keep: ${missed.join('; ')}; ${restored ? 'its previous definition is back' : 'putting its previous definition back failed too, so it is left as libvirt stored it'}.`,
    `Compare with virsh dumpxml --inactive ${wanted.name} and make the change in the XML (e); please report this edit as a virtdeck bug.`,
  );
}
