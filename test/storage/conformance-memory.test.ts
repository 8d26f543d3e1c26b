import { MemoryStore } from '../../services/apiserver/storage/memory.js';
import { storeConformance } from './conformance.js';

storeConformance('memory', async () => new MemoryStore());
