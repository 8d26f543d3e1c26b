/**
 * Registers the ReplicaSet/Deployment scheduler with the controller manager: importing this
 * module appends it to `controllers` (services/controllers/registry.ts).
 */
import { controllers } from '../registry.js';
import { startReplicaController } from './controller.js';

if (!controllers.some((c) => c.name === 'replicas'))
  controllers.push({ name: 'replicas', start: (ctx) => startReplicaController(ctx) });
