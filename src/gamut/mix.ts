// gamut's --mix as text: the weights as given (settings, JSON) and as people read them (output, report).
import type { LoadOptions } from './load.js';

/**
 * The mix as given: GET:SET, or GET:SET:INCR when incr takes part; the named weights (only those
 * above 0, e.g. get=1,mget=2) when mget takes part.
 */
export function mixText(o: Pick<LoadOptions, 'getWeight' | 'setWeight' | 'incrWeight' | 'mgetWeight'>): string {
  if (o.mgetWeight === 0) return o.incrWeight > 0 ? `${o.getWeight}:${o.setWeight}:${o.incrWeight}` : `${o.getWeight}:${o.setWeight}`;
  const named: [string, number][] = [['get', o.getWeight], ['set', o.setWeight], ['incr', o.incrWeight], ['mget', o.mgetWeight]];
  return named.filter(([, w]) => w > 0).map(([op, w]) => `${op}=${w}`).join(',');
}

/** The mix for people: "get:set 1:1", "get:set:incr 1:1:2", "get=1,mget=2 (mget of 100 keys)". */
export function mixDescription(o: Pick<LoadOptions, 'getWeight' | 'setWeight' | 'incrWeight' | 'mgetWeight' | 'mgetKeys'>): string {
  if (o.mgetWeight > 0) return `${mixText(o)} (mget of ${o.mgetKeys} keys)`;
  return `${o.incrWeight > 0 ? 'get:set:incr' : 'get:set'} ${mixText(o)}`;
}
