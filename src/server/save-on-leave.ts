// The save file a leaving node writes on disk: an earlier file at the path is kept beside the new
// one (or moved aside when it was unreadable at start), then the new one replaces it in one rename
// (savefile.ts). The node gets this from its environment (node-env.ts NodeEnv.writeSave), so the
// simulator, whose time is virtual, passes one that touches no disk.
import { existsSync } from 'node:fs';
import { rename, mkdir, link, copyFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Item } from '../protocol/messages/node.js';
import { writeSaveFile } from './savefile.js';
import { stamp, type LoadedSave } from './loaded-save.js';
import type { Logger } from './log.js';

/** What writing a node's save file needs of the node. */
export interface SaveTarget {
  readonly opts: { readonly savefile: string };
  readonly log: Logger;
  /** The file at the path was unreadable at start and ignored: moved aside, not overwritten. */
  readonly badSavefileIgnored: boolean;
  readonly loadedSave: LoadedSave | null;
}

/** Writes the items as the node's save file (epochFloor: the highest epoch of its table); throws when it cannot. */
export type SaveWriter = (node: SaveTarget, items: Iterable<Item>, epochFloor: number) => Promise<void>;

export const writeSaveOnDisk: SaveWriter = async (node, items, epochFloor) => {
  const path = node.opts.savefile;
  await mkdir(dirname(path), { recursive: true });
  if (node.badSavefileIgnored && existsSync(path)) {
    const aside = `${path}.damaged-${stamp(Date.now())}`;
    await rename(path, aside);
    node.log.warn({ file: path, movedTo: aside }, 'the unreadable save file was moved aside, not overwritten');
  } else if (existsSync(path)) {
    // The file this run loaded (still in place: loaded-save.ts), or one it did not load (it
    // joined a cluster): kept under another name too, and still whole at its own path until
    // the new one replaces it in one rename.
    const loaded = node.loadedSave?.held === true;
    const kept = loaded ? node.loadedSave!.keptName() : `${path}.previous-${stamp(Date.now())}`;
    await link(path, kept)
      .catch(() => copyFile(path, kept))
      .then(() => loaded
        ? node.log.info({ file: path, keptAs: kept }, 'the save file loaded at start is kept beside the newer one')
        : node.log.warn({ file: path, keptAs: kept }, 'an earlier save file this node did not load is kept'))
      .catch((error: unknown) => node.log.error({ file: path, err: String(error) }, 'could not keep the earlier save file; it is replaced'));
  }
  const r = await writeSaveFile(path, items, Date.now(), epochFloor);
  await node.loadedSave?.superseded();
  node.log.info({ file: path, items: r.items, bytes: r.bytes }, 'save file written');
};
