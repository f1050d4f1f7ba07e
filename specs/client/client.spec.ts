import { registerClientSpecs } from './client-specs';

registerClientSpecs('tcp');
