/**
 * `virtdeck guest agent NAME`: the console's agent lines for scripts. One query with the console's
 * limits (each virsh killed after 2 s); a guest without an agent is an answer, not a failure.
 */
import { queryGuestAgent } from '../../host/guestAgent.js';
import { isActive } from '../../model/guest.js';
import { UserError } from '../../model/userError.js';
import { agentDetailLines } from '../../store/agentDetails.js';
import { skipFor } from '../../store/guestAgentInfo.js';
import { EXIT, type ExitCode } from '../output.js';
import { findGuest, type GuestCommandContext } from './guest.js';

export async function agentCommand(ctx: GuestCommandContext, name: string): Promise<ExitCode> {
  const guest = await findGuest(ctx.host, name);
  if (!isActive(guest.state) || guest.state === 'paused') {
    throw new UserError(`${name} is ${guest.state}, so nothing inside it can answer.`, `Start it first: virtdeck guest start ${name}.`);
  }
  // The live XML already tells when no agent can answer: the agent is then not asked in vain.
  const skip = skipFor(guest);
  const agent = await queryGuestAgent(ctx.host, guest.uuid, skip ? { skipAgent: skip } : {});
  if (ctx.output.json) ctx.output.out(JSON.stringify({ ok: true, guests: [{ name, agent }] }, null, 2));
  else for (const line of agentDetailLines(guest, agent)) ctx.output.out(line);
  return EXIT.ok;
}
