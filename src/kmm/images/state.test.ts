import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModuleImageSpec, ModuleImagesConfig } from '../../api/index.js';
import {
  type Existence,
  type ImagePlan,
  type RegistryAnswer,
  type Verdict,
  type WorkResults,
  buildSignEntries,
  distinctImages,
  judgeSuccess,
  mbscCounts,
  micRequeueMs,
  missingImageEvent,
  planImage,
  rebuildTriggered,
  resultsByImage,
} from './state.js';
import { ANNOTATION_REBUILD_TRIGGER } from './constants.js';

const img = 'quay.io/org/kmod:6.1';
const build = { dockerfileConfigMap: { name: 'df' } };
const sign = {
  unsignedImage: 'quay.io/org/kmod:unsigned',
  keySecret: { name: 'k' },
  certSecret: { name: 'c' },
  filesToSign: ['/opt/lib/modules/6.1/kmod.ko'],
};
const plain: ModuleImageSpec = { image: img, kernelVersion: '6.1' };
const withBuild: ModuleImageSpec = { ...plain, build };
const withSign: ModuleImageSpec = { ...plain, sign };
const withBoth: ModuleImageSpec = { ...plain, build, sign };
const skipWait: ModuleImageSpec = { ...plain, skipWaitMissingImage: true };

describe('planImage', () => {
  const cases: {
    name: string;
    spec: ModuleImageSpec;
    prev?: ImagePlan['state'];
    results?: WorkResults;
    existence?: Existence;
    want: Omit<ImagePlan, 'image'>;
  }[] = [
    { name: 'first sight: ask the registry', spec: withBuild, want: { check: true } },
    { name: 'exists', spec: withBuild, existence: 'Exists', want: { state: 'Exists' } },
    {
      name: 'Exists is final, never checked again',
      spec: withBoth,
      prev: 'Exists',
      want: { state: 'Exists' },
    },
    {
      name: 'missing with build',
      spec: withBuild,
      existence: 'Missing',
      want: { state: 'NeedsBuilding', action: 'BuildImage' },
    },
    {
      name: 'missing with build and sign: build first',
      spec: withBoth,
      existence: 'Missing',
      want: { state: 'NeedsBuilding', action: 'BuildImage' },
    },
    {
      name: 'missing with sign only',
      spec: withSign,
      existence: 'Missing',
      want: { state: 'NeedsSigning', action: 'SignImage' },
    },
    {
      name: 'missing without build or sign',
      spec: plain,
      existence: 'Missing',
      want: { state: 'DoesNotExist' },
    },
    {
      name: 'building: waits for the result without asking the registry',
      spec: withBuild,
      prev: 'NeedsBuilding',
      want: { state: 'NeedsBuilding', action: 'BuildImage' },
    },
    {
      name: 'built, no sign: exists',
      spec: withBuild,
      prev: 'NeedsBuilding',
      results: { build: 'Success' },
      want: { state: 'Exists' },
    },
    {
      name: 'built, then sign',
      spec: withBoth,
      prev: 'NeedsBuilding',
      results: { build: 'Success' },
      want: { state: 'NeedsSigning', action: 'SignImage' },
    },
    {
      name: 'build failed: DoesNotExist, entry kept',
      spec: withBoth,
      prev: 'NeedsBuilding',
      results: { build: 'Failure' },
      want: { state: 'DoesNotExist', action: 'BuildImage' },
    },
    {
      name: 'signing: waits',
      spec: withBoth,
      prev: 'NeedsSigning',
      results: { build: 'Success' },
      want: { state: 'NeedsSigning', action: 'SignImage' },
    },
    {
      name: 'signed: exists',
      spec: withSign,
      prev: 'NeedsSigning',
      results: { sign: 'Success' },
      want: { state: 'Exists' },
    },
    {
      name: 'sign failed',
      spec: withSign,
      prev: 'NeedsSigning',
      results: { sign: 'Failure' },
      want: { state: 'DoesNotExist', action: 'SignImage' },
    },
    {
      name: 'failed build stays failed: no rebuild loop',
      spec: withBuild,
      prev: 'DoesNotExist',
      results: { build: 'Failure' },
      want: { state: 'DoesNotExist', action: 'BuildImage' },
    },
    {
      name: 'failed sign stays failed',
      spec: withBoth,
      prev: 'DoesNotExist',
      results: { sign: 'Failure' },
      want: { state: 'DoesNotExist', action: 'SignImage' },
    },
    {
      name: 'failure withdrawn (retry after a fix): check again',
      spec: withBuild,
      prev: 'DoesNotExist',
      want: { state: 'DoesNotExist', check: true },
    },
    {
      name: 'failure withdrawn, still missing: build again',
      spec: withBuild,
      prev: 'DoesNotExist',
      existence: 'Missing',
      want: { state: 'NeedsBuilding', action: 'BuildImage' },
    },
    {
      name: 'missing without work: checked again until it appears',
      spec: plain,
      prev: 'DoesNotExist',
      want: { state: 'DoesNotExist', check: true },
    },
    {
      name: 'missing without work appears',
      spec: plain,
      prev: 'DoesNotExist',
      existence: 'Exists',
      want: { state: 'Exists' },
    },
    {
      name: 'skipWaitMissingImage: not checked again',
      spec: skipWait,
      prev: 'DoesNotExist',
      want: { state: 'DoesNotExist' },
    },
    {
      name: 'NeedsBuilding but build removed from the spec: check again',
      spec: withSign,
      prev: 'NeedsBuilding',
      want: { state: 'NeedsBuilding', check: true },
    },
    {
      name: 'NeedsBuilding but build removed, missing: sign',
      spec: withSign,
      prev: 'NeedsBuilding',
      existence: 'Missing',
      want: { state: 'NeedsSigning', action: 'SignImage' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(planImage(c.spec, c.prev, c.results ?? {}, c.existence), {
        image: img,
        ...c.want,
      });
    });
  }
});

const mic = (images: ModuleImageSpec[], trigger?: number): ModuleImagesConfig => ({
  metadata: { name: 'm', namespace: 'ns' },
  spec: { images, ...(trigger === undefined ? {} : { imageRebuildTriggerGeneration: trigger }) },
});

describe('distinctImages', () => {
  it('keeps the first entry of each image', () => {
    const other = { image: 'quay.io/org/kmod:6.2', kernelVersion: '6.2' };
    const got = distinctImages(mic([withBuild, { ...plain, kernelVersion: '6.1.1' }, other]));
    assert.deepEqual(got, [withBuild, other]);
  });
  it('accepts a MIC without images (no node matches)', () => {
    assert.deepEqual(distinctImages({ metadata: {}, spec: {} }), []);
  });
});

describe('resultsByImage and buildSignEntries', () => {
  it('folds results per image', () => {
    const r = resultsByImage([
      { image: img, action: 'BuildImage', status: 'Success' },
      { image: img, action: 'SignImage', status: 'Failure' },
      { image: 'x:1', action: 'SignImage', status: 'Success' },
    ]);
    assert.deepEqual(r.get(img), { build: 'Success', sign: 'Failure' });
    assert.deepEqual(r.get('x:1'), { sign: 'Success' });
  });
  it('lists the images with an action, with their spec', () => {
    const other = { image: 'x:1', kernelVersion: '6.2' };
    const entries = buildSignEntries(
      [withBoth, other],
      [
        { image: img, state: 'NeedsSigning', action: 'SignImage' },
        { image: 'x:1', state: 'Exists' },
      ],
    );
    assert.deepEqual(entries, [{ ...withBoth, action: 'SignImage' }]);
  });
});

describe('rebuildTriggered', () => {
  const cases: [number | undefined, string | undefined, boolean][] = [
    [undefined, undefined, false],
    [3, undefined, false],
    [3, '3', false],
    [4, '3', true],
    [undefined, '3', true],
    [1, '', true],
    [undefined, '', false],
  ];
  for (const [now, seen, want] of cases) {
    it(`trigger ${now} after ${JSON.stringify(seen)}: ${want}`, () => {
      assert.equal(rebuildTriggered(mic([], now), seen), want);
    });
  }
});

describe('judgeSuccess', () => {
  const ref = 'quay.io/org/kmod:6.1_kmm_unsigned';
  const digest = `sha256:${'a'.repeat(64)}`;
  const cases: {
    name: string;
    pushes?: string;
    answer?: RegistryAnswer;
    status: Verdict['status'];
    message: RegExp;
  }[] = [
    {
      name: 'nothing pushed (pushBuiltImage false): the pod is believed',
      status: 'Success',
      message: /^pod p succeeded$/,
    },
    {
      name: 'the registry has the pushed image',
      pushes: ref,
      answer: { state: 'Exists', digest },
      status: 'Success',
      message: new RegExp(`the registry has .*_kmm_unsigned at ${digest}$`),
    },
    {
      name: 'the pod succeeded but pushed nothing',
      pushes: ref,
      answer: { state: 'Missing' },
      status: 'Failure',
      message:
        /^the pod p succeeded but the registry has no image at quay\.io\/org\/kmod:6\.1_kmm_unsigned$/,
    },
    {
      name: 'the registry cannot be asked: nothing decided',
      pushes: ref,
      answer: { problem: 'registry quay.io is unreachable' },
      status: 'Unknown',
      message: /could not be asked .*: registry quay\.io is unreachable$/,
    },
    {
      name: 'not asked yet: nothing decided',
      pushes: ref,
      status: 'Unknown',
      message: /could not be asked for quay\.io\/org\/kmod:6\.1_kmm_unsigned yet$/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = judgeSuccess('pod p', c.pushes, c.answer);
      assert.equal(v.status, c.status);
      assert.match(v.message, c.message);
    });
  }
});

describe('mbscCounts', () => {
  const mic = {
    metadata: { name: 'm', namespace: 'ns', uid: 'mic-1' },
    spec: { images: [] },
  } as unknown as ModuleImagesConfig;
  const mbsc = (uid: string, trigger?: string) => ({
    metadata: {
      name: 'm',
      ownerReferences: [
        {
          apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
          kind: 'ModuleImagesConfig',
          name: 'm',
          uid,
          controller: true,
        },
      ],
      ...(trigger === undefined ? {} : { annotations: { [ANNOTATION_REBUILD_TRIGGER]: trigger } }),
    },
  });
  const cases: [string, ReturnType<typeof mbsc>, string, boolean][] = [
    ['ours, no trigger on either', mbsc('mic-1'), '', true],
    ['ours, same trigger', mbsc('mic-1', '2'), '2', true],
    ['ours, made for an earlier trigger', mbsc('mic-1', '1'), '2', false],
    ['of an earlier MIC of that name', mbsc('mic-0', '2'), '2', false],
  ];
  for (const [name, m, trigger, want] of cases) {
    it(name, () => assert.equal(mbscCounts(mic, m, trigger), want));
  }
});

describe('missingImageEvent', () => {
  const cases: [string, ModuleImageSpec, ImagePlan['action'], 'Normal' | 'Warning', string][] = [
    ['with build', withBuild, 'BuildImage', 'Normal', 'building it'],
    ['with sign', withSign, 'SignImage', 'Normal', 'signing it'],
    [
      'with neither',
      plain,
      undefined,
      'Warning',
      'it has neither build nor sign, so the module cannot be loaded on those nodes until it is pushed',
    ],
  ];
  for (const [name, spec, action, type, what] of cases) {
    it(name, () =>
      assert.deepEqual(
        missingImageEvent(spec, { image: spec.image, ...(action ? { action } : {}) }),
        {
          type,
          message: `image ${img} for kernel 6.1 does not exist; ${what}`,
        },
      ),
    );
  }
});

describe('micRequeueMs', () => {
  const cases: [string, ModuleImageSpec, ImagePlan, boolean, number | undefined][] = [
    ['a failed check: retry', plain, { image: img, check: true }, true, 30],
    [
      'missing without build or sign: recheck',
      plain,
      { image: img, state: 'DoesNotExist' },
      false,
      60,
    ],
    [
      'missing, skipWaitMissingImage: no recheck',
      skipWait,
      { image: img, state: 'DoesNotExist' },
      false,
      undefined,
    ],
    [
      'failed build: no recheck (the failure stays)',
      withBuild,
      { image: img, state: 'DoesNotExist', action: 'BuildImage' },
      false,
      undefined,
    ],
    ['exists: nothing to wait for', plain, { image: img, state: 'Exists' }, false, undefined],
    [
      'building: the result wakes it',
      withBuild,
      { image: img, state: 'NeedsBuilding', action: 'BuildImage' },
      false,
      undefined,
    ],
  ];
  for (const [name, spec, plan, failed, want] of cases) {
    it(name, () => assert.equal(micRequeueMs([spec], [plan], failed, 30, 60), want));
  }
});
