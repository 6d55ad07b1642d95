// A DJI result code as the words a caller reads in failure_reason: DJI's documented text for the
// code, or for a code DJI does not document, the module its digits name (PROTOCOL §5: ABCDEF,
// A = source, BC = module). Pure; the table is result_codes_data.ts, generated from DJI's page.
import { DJI_RESULT_MODULES, DJI_RESULT_TEXTS } from "./result_codes_data.ts";

// Digit A of a code (PROTOCOL §5; DEMO's ServicesErrorCode reads it the same way).
const SOURCES: Readonly<Record<string, string>> = {
  "3": "device",
  "4": "DJI Pilot 2",
  "5": "dock",
  "6": "DJI Pilot 2",
};

/** The code as an integer when it is one (a number or its digits), else undefined. */
function asCode(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^-?\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

/**
 * `"514116: Unable to perform operation. Dock is executing other command. Try again later"` for
 * a documented code; `"514199: undocumented result code of DJI's dock device and remote
 * debugging module"` for an undocumented one whose prefix DJI's table covers; the source and
 * module digits for other six-digit codes; undefined for anything that is not a six-digit code,
 * so the caller keeps its own wording.
 */
export function describeResultCode(value: unknown): string | undefined {
  const code = asCode(value);
  if (code === undefined || code < 100000 || code > 999999) return undefined;
  const text = DJI_RESULT_TEXTS[code];
  if (text !== undefined) return `${code}: ${text}`;
  const digits = String(code);
  const module = DJI_RESULT_MODULES[digits.slice(0, 4)] ?? DJI_RESULT_MODULES[digits.slice(0, 3)];
  if (module !== undefined) return `${code}: undocumented result code of DJI's ${module} module`;
  const source = SOURCES[digits[0]];
  const from = source ? `${source} side` : `source digit ${digits[0]}`;
  return `${code}: undocumented result code (${from}, module ${digits.slice(1, 3)})`;
}
