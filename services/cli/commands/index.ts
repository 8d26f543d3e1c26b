import type { Command } from 'commander';
import { register as up } from './up.js';
import { register as apiserver } from './apiserver.js';
import { register as get } from './get.js';
import { register as describe } from './describe.js';
import { register as plan } from './plan.js';
import { register as render } from './render.js';
import { register as deploy } from './deploy.js';
import { register as webhooks } from './webhooks.js';
import { register as runs } from './runs.js';
import { register as simulate } from './simulate.js';
import { register as sandbox } from './sandbox.js';
import { register as controllers } from './controllers.js';
import { register as join } from './join.js';
import { register as unjoin } from './unjoin.js';

/** Every subcommand, in `kitfed --help` order. A new command is one import and one entry. */
export const commands: Array<(program: Command) => void> = [
  up,
  apiserver,
  get,
  describe,
  plan,
  render,
  deploy,
  webhooks,
  runs,
  simulate,
  sandbox,
  controllers,
  join,
  unjoin,
];
