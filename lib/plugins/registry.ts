import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  VIDEO_PLUGIN_API_VERSION,
  VIDEO_PLUGIN_TYPE,
  VideoDecoder,
  VideoEncoder,
  VideoPlugin,
} from './contract';

export type PluginErrorCode = 'ERR_PLUGIN_LOAD' | 'ERR_PLUGIN_TYPE' | 'ERR_PLUGIN_VERSION' | 'ERR_PLUGIN_SHAPE' | 'ERR_PLUGIN_INIT' | 'ERR_PLUGIN_CODEC';

export class PluginError extends Error {
  override readonly name = 'PluginError';
  constructor(
    readonly code: PluginErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface DirectoryLoad {
  loaded: VideoPlugin[];
  failed: Array<{ path: string; error: PluginError }>;
}

const PLUGIN_FILE = /\.(ts|js|cjs)$/;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Checks that a module export is a plugin this version of rxrtmp can use. */
export function validatePlugin(candidate: unknown, origin: string): VideoPlugin {
  if (typeof candidate !== 'object' || candidate === null) {
    throw new PluginError('ERR_PLUGIN_SHAPE', `${origin}: exports no plugin object (default export or \`plugin\`)`);
  }
  const plugin = candidate as Partial<Record<keyof VideoPlugin, unknown>>;
  if (plugin.type !== VIDEO_PLUGIN_TYPE) {
    throw new PluginError('ERR_PLUGIN_TYPE', `${origin}: plugin type ${describe(plugin.type)} is not ${VIDEO_PLUGIN_TYPE}`);
  }
  if (plugin.apiVersion !== VIDEO_PLUGIN_API_VERSION) {
    throw new PluginError('ERR_PLUGIN_VERSION', `${origin}: plugin API version ${describe(plugin.apiVersion)} is not ${VIDEO_PLUGIN_API_VERSION}`);
  }
  const codecsOk =
    Array.isArray(plugin.codecs) &&
    plugin.codecs.every((c: unknown) => typeof c === 'object' && c !== null && typeof (c as { name?: unknown }).name === 'string' && typeof (c as { flvCodecId?: unknown }).flvCodecId === 'number');
  if (typeof plugin.name !== 'string' || typeof plugin.version !== 'string' || !codecsOk || typeof plugin.createEncoder !== 'function') {
    throw new PluginError('ERR_PLUGIN_SHAPE', `${origin}: a plugin needs name, version, codecs [{name, flvCodecId}] and createEncoder()`);
  }
  return candidate as VideoPlugin;
}

/**
 * The video plugins a server has: loaded from files or a directory, or registered
 * in code. A plugin that is of the wrong type or version, or throws while loading
 * or initialising, is refused with a PluginError; the others are unaffected.
 */
export class PluginRegistry {
  private readonly plugins = new Map<string, VideoPlugin>();
  private readonly byCodec = new Map<string, VideoPlugin>();

  list(): VideoPlugin[] {
    return [...this.plugins.values()];
  }

  codecs(): string[] {
    return [...this.byCodec.keys()];
  }

  has(codec: string): boolean {
    return this.byCodec.has(codec);
  }

  async register(candidate: unknown, origin = 'plugin'): Promise<VideoPlugin> {
    const plugin = validatePlugin(candidate, origin);
    if (this.plugins.has(plugin.name)) throw new PluginError('ERR_PLUGIN_SHAPE', `${origin}: a plugin named ${plugin.name} is already loaded`);
    try {
      await plugin.init?.();
    } catch (error) {
      throw new PluginError('ERR_PLUGIN_INIT', `${origin}: ${plugin.name} refused to start: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.plugins.set(plugin.name, plugin);
    // A codec provided twice goes to the plugin loaded first (directories load in name order).
    for (const codec of plugin.codecs) if (!this.byCodec.has(codec.name)) this.byCodec.set(codec.name, plugin);
    return plugin;
  }

  /** Loads one plugin module (a .ts/.js file, or a folder with an index). */
  async load(path: string): Promise<VideoPlugin> {
    const absolute = resolve(path);
    let exported: unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const module = require(absolute) as { default?: unknown; plugin?: unknown };
      // `export default`, `export const plugin`, or CommonJS `module.exports = plugin`.
      exported = module.default ?? module.plugin ?? module;
    } catch (error) {
      throw new PluginError('ERR_PLUGIN_LOAD', `${path}: failed to load: ${error instanceof Error ? error.message : String(error)}`);
    }
    return this.register(exported, path);
  }

  /** Loads every plugin in a directory, in alphabetical order; failures are reported, not thrown. */
  async loadDirectory(dir: string): Promise<DirectoryLoad> {
    const result: DirectoryLoad = { loaded: [], failed: [] };
    const entries = readdirSync(dir).sort();
    for (const entry of entries) {
      const path = join(dir, entry);
      const isDirectory = statSync(path).isDirectory();
      if (!isDirectory && !(PLUGIN_FILE.test(entry) && !entry.endsWith('.d.ts'))) continue;
      try {
        result.loaded.push(await this.load(path));
      } catch (error) {
        result.failed.push({ path, error: error instanceof PluginError ? error : new PluginError('ERR_PLUGIN_LOAD', String(error)) });
      }
    }
    return result;
  }

  createEncoder(codec: string): VideoEncoder {
    const plugin = this.byCodec.get(codec);
    if (plugin === undefined) throw new PluginError('ERR_PLUGIN_CODEC', `no loaded plugin encodes ${codec} (loaded: ${this.codecs().join(', ') || 'none'})`);
    return plugin.createEncoder(codec);
  }

  createDecoder(codec: string): VideoDecoder {
    const plugin = this.byCodec.get(codec);
    if (plugin?.createDecoder === undefined) throw new PluginError('ERR_PLUGIN_CODEC', `no loaded plugin decodes ${codec}`);
    return plugin.createDecoder(codec);
  }

  async close(): Promise<void> {
    for (const plugin of this.plugins.values()) await plugin.exit?.();
    this.plugins.clear();
    this.byCodec.clear();
  }
}
