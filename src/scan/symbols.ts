// Built-in symbol weights. Positive means spammy. Config `scores` overrides any of them;
// a symbol with no weight here or in config scores 0 but is still reported.
export interface SymbolInfo {
  weight: number;
  description: string;
}

const table: Record<string, SymbolInfo> = {};

/** Each check family registers its symbols next to its code, so the table stays in one place per family. */
export function defineSymbols(symbols: Record<string, SymbolInfo>): void {
  for (const [name, info] of Object.entries(symbols)) table[name] = info;
}

export function builtinSymbols(): Readonly<Record<string, SymbolInfo>> {
  return table;
}

/** `<FAMILY>_…`: the family is the part before the first underscore. */
export function familyOf(symbol: string): string {
  const i = symbol.indexOf('_');
  return i < 0 ? symbol : symbol.slice(0, i);
}

export function errorSymbol(family: string): string {
  return `${family}_ERROR`;
}
