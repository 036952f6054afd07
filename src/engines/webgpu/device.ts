import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { computeLimitsOf, requiredLimitsFrom, type ComputeLimits } from './limits.js';

/**
 * Which WebGPU adapter to run on. 'vulkan' is a real GPU through its Vulkan driver;
 * 'swiftshader' (Vulkan on the CPU) and 'llvmpipe' (Mesa's OpenGL ES on the CPU) are the
 * software adapters CI uses. 'auto' tries them in that order.
 */
export const ADAPTER_CHOICES = ['auto', 'vulkan', 'swiftshader', 'llvmpipe'] as const;
export type AdapterChoice = (typeof ADAPTER_CHOICES)[number];
export type AdapterKind = Exclude<AdapterChoice, 'auto'>;

const AUTO_ORDER: readonly AdapterKind[] = ['vulkan', 'swiftshader', 'llvmpipe'];

/** The SwiftShader Vulkan ICD manifest, from Debian's chromium-common (a dependency of chromium). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** glvnd's manifest for Mesa's EGL, so llvmpipe is reached even where NVIDIA's EGL is present. */
const MESA_EGL_VENDOR = '/usr/share/glvnd/egl_vendor.d/50_mesa.json';

export const INSTALL_HINT = [
  'Install the software adapters (Debian/Ubuntu, as root):',
  '  apt-get update && apt-get install --no-install-recommends \\',
  '    libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libvulkan1 chromium-common',
  '  (in this repository: bash .ci/install-adapters.sh; do not install mesa-vulkan-drivers:',
  "  Debian 12's lavapipe is too old for Dawn)",
  `SwiftShader is taken from VK_DRIVER_FILES or VK_ICD_FILENAMES when one names a swiftshader`,
  `ICD, else from ${SWIFTSHADER_ICD}. llvmpipe needs no variables: EGL_PLATFORM=surfaceless`,
  'and LIBGL_ALWAYS_SOFTWARE=1 are set while it is looked for.',
  'A real GPU is reached through its Vulkan ICD: VK_DRIVER_FILES=/path/to/<vendor>_icd.json',
  "(NVIDIA's ICD, libGLX_nvidia.so.0, also needs glvnd: libglvnd0 libglx0).",
].join('\n');

export interface AdapterDescription {
  /** 'adopted' when the device came from the caller (see adoptDevice). */
  readonly kind: AdapterKind | 'adopted';
  readonly backend: 'vulkan' | 'opengles' | 'unknown';
  readonly featureLevel: 'core' | 'compatibility';
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter: boolean;
}

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapter: AdapterDescription;
  readonly limits: ComputeLimits;
}

export interface AdapterAttempt {
  readonly kind: AdapterKind;
  readonly reason: string;
}

/** No adapter of the kind asked for; the message says what was tried and what to install. */
export class NoAdapterError extends Error {
  override readonly name = 'NoAdapterError';
  readonly choice: AdapterChoice;
  readonly attempts: readonly AdapterAttempt[];

  constructor(choice: AdapterChoice, attempts: readonly AdapterAttempt[]) {
    super([`no WebGPU adapter for '${choice}':`, ...attempts.map((a) => `  ${a.kind}: ${a.reason}`), INSTALL_HINT].join('\n'));
    this.choice = choice;
    this.attempts = attempts;
  }
}

export function parseAdapterChoice(text: string): AdapterChoice {
  const found = ADAPTER_CHOICES.find((choice) => choice === text);
  if (found === undefined) {
    throw new RangeError(`unknown adapter '${text}': expected one of ${ADAPTER_CHOICES.join(', ')}`);
  }
  return found;
}

export function describeAdapter(adapter: AdapterDescription): string {
  const identity = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter((part) => part !== '').join(' / ');
  return `${adapter.kind} (${adapter.backend}, ${adapter.featureLevel}): ${identity}`;
}

/**
 * Contexts whose device openDevice created, each with the Dawn GPU object it came from:
 * dawn.node's instance lives only as long as that object is referenced, so it is kept as long
 * as the device. Keyed by context, not device: an adopted context may wrap one of our devices.
 */
const createdHere = new WeakMap<GpuContext, GPU>();

export async function openDevice(choice: AdapterChoice = 'auto'): Promise<GpuContext> {
  const kinds = choice === 'auto' ? AUTO_ORDER : [choice];
  const attempts: AdapterAttempt[] = [];
  for (const kind of kinds) {
    const opened = await openKind(kind);
    if ('reason' in opened) attempts.push({ kind, reason: opened.reason });
    else return opened;
  }
  throw new NoAdapterError(choice, attempts);
}

/** Wraps a device the caller owns; closeDevice leaves it alive. */
export function adoptDevice(device: GPUDevice): GpuContext {
  const info = device.adapterInfo;
  return {
    device,
    adapter: {
      kind: 'adopted',
      backend: 'unknown',
      featureLevel: featureLevelOf(device.features),
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: info.isFallbackAdapter,
    },
    limits: computeLimitsOf(device.limits),
  };
}

/** Destroys the device if openDevice made it (so the process can exit); idempotent. */
export async function closeDevice(ctx: GpuContext): Promise<void> {
  if (!createdHere.delete(ctx)) return;
  ctx.device.destroy();
  await ctx.device.lost;
}

/** A GPU error caught by an error scope, with the operation that raised it. */
export class GpuOperationError extends Error {
  override readonly name = 'GpuOperationError';
  readonly errors: readonly { readonly filter: GPUErrorFilter; readonly message: string }[];

  constructor(operation: string, errors: readonly { filter: GPUErrorFilter; message: string }[]) {
    super(`${operation}: ${errors.map((e) => `${e.filter} error: ${e.message.trim()}`).join('\n')}`);
    this.errors = errors;
  }
}

const ERROR_FILTERS: readonly GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

/**
 * Runs synchronous device work inside validation, out-of-memory and internal error scopes
 * and throws what they caught. The work must not await: scopes are a per-device stack, and
 * another task's calls would land in ours.
 */
export async function withErrorScopes<T>(device: GPUDevice, operation: string, work: () => T): Promise<T> {
  for (const filter of ERROR_FILTERS) device.pushErrorScope(filter);
  let outcome: { value: T } | { thrown: unknown };
  try {
    outcome = { value: work() };
  } catch (thrown) {
    outcome = { thrown };
  }
  const popped = [...ERROR_FILTERS].reverse().map((filter) => ({ filter, error: device.popErrorScope() }));
  const errors: { filter: GPUErrorFilter; message: string }[] = [];
  for (const { filter, error } of popped) {
    const caught = await error;
    if (caught !== null) errors.push({ filter, message: caught.message });
  }
  if ('thrown' in outcome) throw outcome.thrown;
  if (errors.length > 0) throw new GpuOperationError(operation, errors);
  return outcome.value;
}

interface AdapterRoute {
  readonly backend: 'vulkan' | 'opengles';
  readonly options: GPURequestAdapterOptions;
  /** Variables the driver loaders read while the adapter is found, or why it cannot be. */
  environment(): { readonly variables: Record<string, string> } | { readonly unavailable: string };
  /** Why the adapter found is not the one asked for; undefined when it is. */
  mismatch(info: GPUAdapterInfo): string | undefined;
}

const ROUTES: Record<AdapterKind, AdapterRoute> = {
  vulkan: {
    backend: 'vulkan',
    options: { featureLevel: 'core', powerPreference: 'high-performance' },
    // Without a driver manifest the loader finds nothing, and Dawn prints its failed
    // vkCreateInstance to stderr: skip the probe and say why instead.
    environment: () => (vulkanDriverManifests() ? { variables: {} } : { unavailable: "no Vulkan driver manifest (icd.d/*.json) in the loader's search paths" }),
    mismatch: (info) => (info.isFallbackAdapter ? `Vulkan offers only a CPU fallback (${summary(info)}), not a GPU` : undefined),
  },
  swiftshader: {
    backend: 'vulkan',
    options: { featureLevel: 'core' },
    environment: () => {
      const icd = swiftShaderIcd();
      // VK_DRIVER_FILES outranks VK_ICD_FILENAMES in the loader, so this hides every other
      // driver (a real GPU's included) for this one instance.
      return icd === undefined
        ? { unavailable: `no SwiftShader ICD (${SWIFTSHADER_ICD} is missing: apt package chromium-common)` }
        : { variables: { VK_DRIVER_FILES: icd } };
    },
    mismatch: (info) => (info.architecture === 'swiftshader' ? undefined : `expected SwiftShader, Vulkan gave ${summary(info)}`),
  },
  llvmpipe: {
    backend: 'opengles',
    // Dawn offers OpenGL ES only at the compatibility feature level.
    options: { featureLevel: 'compatibility' },
    environment: () => ({
      variables: {
        EGL_PLATFORM: 'surfaceless',
        LIBGL_ALWAYS_SOFTWARE: '1',
        ...(existsSync(MESA_EGL_VENDOR) ? { __EGL_VENDOR_LIBRARY_FILENAMES: MESA_EGL_VENDOR } : {}),
      },
    }),
    mismatch: (info) => (/llvmpipe/i.test(`${info.device} ${info.description}`) ? undefined : `expected Mesa llvmpipe, OpenGL ES gave ${summary(info)}`),
  },
};

async function openKind(kind: AdapterKind): Promise<GpuContext | { reason: string }> {
  const route = ROUTES[kind];
  const environment = route.environment();
  if ('unavailable' in environment) return { reason: environment.unavailable };
  try {
    const { create } = await loadDawn();
    return await serialized(() =>
      withEnvironment(environment.variables, async () => {
        const gpu = create([`backend=${route.backend}`]);
        const adapter = await gpu.requestAdapter(route.options);
        if (adapter === null) {
          return { reason: `Dawn's ${route.backend} backend found no adapter (see its warnings above)` };
        }
        const mismatch = route.mismatch(adapter.info);
        if (mismatch !== undefined) return { reason: mismatch };
        const device = await adapter.requestDevice({
          label: `ulpwise ${kind}`,
          requiredLimits: requiredLimitsFrom(adapter.limits),
          // Only for the bench's GPU timeline (executeCase gpuTimeline); nothing depends on it.
          requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
        });
        const ctx: GpuContext = {
          device,
          adapter: {
            kind,
            backend: route.backend,
            featureLevel: featureLevelOf(adapter.features),
            vendor: adapter.info.vendor,
            architecture: adapter.info.architecture,
            device: adapter.info.device,
            description: adapter.info.description,
            isFallbackAdapter: adapter.info.isFallbackAdapter,
          },
          limits: computeLimitsOf(device.limits),
        };
        createdHere.set(ctx, gpu);
        return ctx;
      }),
    );
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
}

type DawnBinding = typeof import('webgpu');
let dawn: Promise<DawnBinding> | undefined;

/** Loaded on first use so the CPU engine never pays for (or fails on) the native module. */
function loadDawn(): Promise<DawnBinding> {
  dawn ??= import('webgpu').then(
    (binding) => {
      // GPUBufferUsage, GPUMapMode and friends are globals in a browser; Dawn exports them.
      Object.assign(globalThis, binding.globals);
      return binding;
    },
    (error: unknown) => {
      dawn = undefined;
      throw new Error(`cannot load Dawn's node binding (npm package webgpu): ${String(error)}`);
    },
  );
  return dawn;
}

/**
 * Whether the Vulkan loader has any driver manifest to load: a file named by VK_DRIVER_FILES,
 * VK_ICD_FILENAMES or VK_ADD_DRIVER_FILES, or a .json in an icd.d folder of its Linux search
 * path (KhronosGroup/Vulkan-Loader docs/LoaderDriverInterface.md, "Driver Discovery on Linux":
 * XDG_CONFIG_HOME, XDG_CONFIG_DIRS, SYSCONFDIR=/etc, XDG_DATA_HOME, XDG_DATA_DIRS).
 */
function vulkanDriverManifests(): boolean {
  for (const variable of ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'VK_ADD_DRIVER_FILES']) {
    if ((process.env[variable] ?? '').split(':').some((path) => path !== '' && existsSync(path))) return true;
  }
  const home = process.env.HOME ?? '';
  const roots = [
    process.env.XDG_CONFIG_HOME ?? join(home, '.config'),
    ...(process.env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':'),
    '/etc',
    process.env.XDG_DATA_HOME ?? join(home, '.local/share'),
    ...(process.env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':'),
  ];
  return roots.some((root) => {
    try {
      return readdirSync(join(root, 'vulkan', 'icd.d')).some((f) => f.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

/** The first swiftshader manifest named by the loader's variables, else Chromium's. */
function swiftShaderIcd(): string | undefined {
  for (const variable of ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES']) {
    for (const path of (process.env[variable] ?? '').split(':')) {
      if (/swiftshader/i.test(basename(path)) && existsSync(path)) return path;
    }
  }
  return existsSync(SWIFTSHADER_ICD) ? SWIFTSHADER_ICD : undefined;
}

function featureLevelOf(features: GPUSupportedFeatures): 'core' | 'compatibility' {
  return features.has('core-features-and-limits') ? 'core' : 'compatibility';
}

function summary(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s !== '').join(' / ');
}

/**
 * The Vulkan loader and EGL read their variables when Dawn first enumerates adapters (in
 * requestAdapter, not create), so each open keeps its variables set until it has its device,
 * then puts the caller's back. Opens run one at a time so they cannot see each other's.
 */
async function withEnvironment<T>(variables: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const saved = Object.keys(variables).map((name) => [name, process.env[name]] as const);
  Object.assign(process.env, variables);
  try {
    return await work();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

let openQueue: Promise<unknown> = Promise.resolve();

function serialized<T>(work: () => Promise<T>): Promise<T> {
  const next = openQueue.then(work, work);
  openQueue = next.catch(() => undefined);
  return next;
}
