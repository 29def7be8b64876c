import t from 'tap';
import { EMBEDDED } from '../helpers/gateway.js';
import { scenarioSuite } from './scenario-suite.js';

/** The SIPp suite (test/sipp/scenario-suite.ts) against the embedded engine, over UDP and TCP. */
scenarioSuite(t, () => EMBEDDED);
