// A candidate module as `cli.js replay --machine` loads it: its default export is the candidate.
import { bannedDriverCandidate } from './replay-candidates.js';

export default bannedDriverCandidate();
