import t from 'tap';
import { EMBEDDED } from '../helpers/gateway.js';
import { limitsDrainSuite } from './limits-drain-suite.js';

/** Admission limits, CANCEL, drain and metrics (test/sipp/limits-drain-suite.ts) on the embedded engine. */
limitsDrainSuite(t, () => EMBEDDED);
