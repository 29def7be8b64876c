import type { FastifyInstance } from 'fastify';
import type { ApiServices } from '../http-server.js';
import { registerAccountRoutes } from './accounts.js';
import { registerProvisioningRoutes } from './provisioning.js';
import { registerRecordRoutes } from './records.js';
import { registerPrivacyRoutes } from './privacy.js';

/** Every /v1 resource route. The handlers only translate HTTP to the CLI's service calls. */
export function registerRoutes(app: FastifyInstance, services: ApiServices): void {
  registerAccountRoutes(app, services);
  registerProvisioningRoutes(app, services);
  registerRecordRoutes(app, services);
  registerPrivacyRoutes(app, services);
}
