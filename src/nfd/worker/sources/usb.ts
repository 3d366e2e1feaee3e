/**
 * usb: one instance per USB device (per interface class when the device class is 00, "defined
 * at interface level"); `usb-<fields>.present` labels for whitelisted classes.
 */
import { join, listDir, readTrim } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import { instanceSet, type SourceFeatures } from '../types.js';

function discoverUsb(ctx: DiscoverContext): SourceFeatures {
  const base = join(ctx.paths.sys, 'bus/usb/devices');
  const entries = listDir(base);
  // Machines without a USB controller have no bus/usb at all: no devices, not an error.
  if (!entries) return { instances: { device: instanceSet([]) } };
  const out: Record<string, string>[] = [];
  for (const e of entries) {
    const dir = join(base, e);
    const vendor = readTrim(join(dir, 'idVendor'));
    const product = readTrim(join(dir, 'idProduct'));
    const devClass = readTrim(join(dir, 'bDeviceClass'));
    // Interfaces (`1-1:1.0`) have no idVendor; they are read through their device below.
    if (vendor === undefined || product === undefined || devClass === undefined) continue;
    const serial = readTrim(join(dir, 'serial'));
    const classes = new Set<string>();
    if (devClass === '00') {
      for (const i of entries) {
        if (!i.startsWith(`${e}:`)) continue;
        const c = readTrim(join(base, i, 'bInterfaceClass'));
        if (c !== undefined) classes.add(c);
      }
    } else classes.add(devClass);
    for (const c of classes) {
      const a: Record<string, string> = { class: c, vendor, device: product };
      if (serial !== undefined) a.serial = serial;
      out.push(a);
    }
  }
  return { instances: { device: instanceSet(out) } };
}

function usbLabels(own: SourceFeatures, ctx: DiscoverContext): Record<string, string> {
  const { deviceClassWhitelist, deviceLabelFields } = ctx.config.sources.usb;
  const allowed = new Set(deviceClassWhitelist.map((c) => c.toLowerCase()));
  const labels: Record<string, string> = {};
  for (const d of own.instances?.device?.elements ?? []) {
    const a = d.attributes;
    if (!allowed.has(a.class ?? '')) continue;
    labels[`${deviceLabelFields.map((f) => a[f] ?? '').join('_')}.present`] = 'true';
  }
  return labels;
}

registerSource({ name: 'usb', order: 0, discover: discoverUsb, labels: usbLabels });
