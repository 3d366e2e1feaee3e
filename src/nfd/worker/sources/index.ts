/**
 * Every feature source. Each module registers itself when imported; the import order does not
 * matter (sources run by their `order`, then name).
 */
import './cpu.js';
import './custom.js';
import './kernel.js';
import './local.js';
import './memory.js';
import './network.js';
import './pci.js';
import './storage.js';
import './system.js';
import './usb.js';

export { registeredSources } from '../source.js';
