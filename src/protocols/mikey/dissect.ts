/** Stateless one-shot dissection: decode, MBMS meaning and the profile rules one message can break on its own. */
import type { Problem } from '../../common/problem';
import { decodeMikey } from './decode';
import { mbmsInfo, mbmsProfileProblems } from './mbms';
import type { MbmsInfo, MikeyMessage } from './types';

export interface MikeyDissection {
  message: MikeyMessage | null;
  mbms: MbmsInfo | null;
  problems: Problem[];
}

/** For callers without key state (e.g. a quick look at one HTTP body); MbmsKeyTracker.process does this and more. */
export function dissectMikey(bytes: Uint8Array): MikeyDissection {
  const d = decodeMikey(bytes);
  if (!d.message) return { message: null, mbms: null, problems: d.problems };
  const mbms = mbmsInfo(d.message);
  return { message: d.message, mbms, problems: [...d.problems, ...mbmsProfileProblems(d.message, mbms)] };
}
