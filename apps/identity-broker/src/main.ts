import 'reflect-metadata';
import { service } from './service.js';

await service.main();
