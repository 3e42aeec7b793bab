// Types of locate-addon.cjs, for lib/binding.ts.
export interface Target {
  /** `${process.platform}-${process.arch}` */
  dir: string;
  /** On Linux, the C library the prebuild is made for. */
  libc: 'glibc' | 'musl' | undefined;
}
export function currentTarget(): Target;
export function describeTarget(target: Target): string;
export function prebuildPath(target?: Target): string;
export function shippedPrebuilds(): string[];
export function loadAddon(refuse?: (addon: unknown) => string | undefined): { addon: unknown; file: string };
export const LOCAL_BUILD: string;
export const PACKAGE_ROOT: string;
