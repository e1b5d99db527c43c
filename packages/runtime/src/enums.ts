// Names of the generated (protobuf-es) enums' values, both ways: the one place that knows a
// TypeScript enum maps names to numbers and numbers back to names, and that 0 is UNSPECIFIED.
type GeneratedEnum = Record<string, string | number>;

/** The name of `value` in `e` ("SUCCESS" for sync.RunStatus.SUCCESS); undefined for 0 (UNSPECIFIED) and numbers `e` lacks. */
export function enumName(e: GeneratedEnum, value: number): string | undefined {
  if (value === 0) return undefined;
  const name = (e as Record<number, string | number>)[value];
  return typeof name === 'string' ? name : undefined;
}

/** The value named `name` in `e`, any case ("success" → RunStatus.SUCCESS); 0 (UNSPECIFIED) when empty or unknown. */
export function enumValue(e: GeneratedEnum, name: string | undefined): number {
  if (!name) return 0;
  const v = e[name.toUpperCase()];
  return typeof v === 'number' ? v : 0;
}

/** Every name of `e` but UNSPECIFIED, in declaration order. */
export function enumNames(e: GeneratedEnum): string[] {
  return Object.keys(e).filter((k) => Number.isNaN(Number(k)) && k !== 'UNSPECIFIED');
}
