/**
 * Kernel mapping speed: kernels resolved per second for a Module with many mappings (literals,
 * then regexps, then a catch-all), as the Module controller does for every node's kernel.
 * "cached" reuses the Module object, so its regexps are compiled once; "compile each time"
 * compiles them for every kernel, to show what the cache saves.
 *
 * Usage: kmm-mapping [KERNELS=20000] [MAPPINGS=50] [RUNS=5]
 */
import type { KernelMapping } from '../src/api/kmm.js';
import {
  compileKernelMapper,
  type MappableModule,
  resolveKernelMapping,
} from '../src/kmm/kernelmapping/index.js';

function moduleWith(mappings: number): MappableModule {
  const kernelMappings: KernelMapping[] = [];
  for (let i = 0; i < mappings; i++) {
    kernelMappings.push(
      i % 2 === 0
        ? { literal: `5.14.0-${i}.el9.x86_64`, containerImage: `r/lit:${i}` }
        : { regexp: `^4\\.${i}\\.\\d+-\\d+\\.el8`, containerImage: 'r/el8:${KERNEL_XYZ}' },
    );
  }
  kernelMappings.push({ regexp: '^.+$', containerImage: 'r/${MOD_NAME}:${KERNEL_FULL_VERSION}' });
  return {
    metadata: { name: 'bench', namespace: 'default' },
    spec: {
      moduleLoader: {
        container: {
          modprobe: { moduleName: 'bench' },
          sign: { filesToSign: ['/opt/lib/modules/${KERNEL_FULL_VERSION}/bench.ko'] },
          kernelMappings,
        },
      },
    },
  };
}

function kernels(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    // a mix: some hit early literals, most go through every regexp to the catch-all
    out.push(
      i % 10 === 0
        ? `5.14.0-${(i % 25) * 2}.el9.x86_64`
        : `6.${i % 12}.${i % 97}-${i % 400}.fc${36 + (i % 4)}.x86_64`,
    );
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export default function (args: string[]): void {
  const n = Number(args[0] ?? 20000);
  const m = Number(args[1] ?? 50);
  const runs = Number(args[2] ?? 5);
  const module = moduleWith(m);
  const ks = kernels(n);
  console.log(`kernel mapping: ${n} kernels, ${m + 1} mappings, ${runs} runs`);

  const measure = (label: string, once: () => void) => {
    const rates: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = process.hrtime.bigint();
      once();
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      rates.push(n / s);
      console.log(`  ${label} run ${r + 1}: ${(n / s).toFixed(0)} kernels/s`);
    }
    const med = median(rates);
    console.log(
      `${label}: median ${med.toFixed(0)} kernels/s, ${(1e6 / med).toFixed(1)} µs/kernel`,
    );
  };

  measure('cached', () => {
    for (const k of ks) {
      const r = resolveKernelMapping(module, k);
      if (!r.ok) throw r.error;
    }
  });
  measure('compile each time', () => {
    for (const k of ks) {
      const mapper = compileKernelMapper(module);
      if (!mapper.ok) throw mapper.error;
      const r = mapper.value.resolve(k);
      if (!r.ok) throw r.error;
    }
  });
}
