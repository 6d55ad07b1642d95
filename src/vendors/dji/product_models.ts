// Model names of DJI products by their `type`-`sub_type` enum, as DJI's Cloud API lists the
// products it supports ("Product Supported"); a device of a pair not listed has no model name.
const MODELS: Readonly<Record<string, string>> = {
  // Aircraft (domain 0)
  "60-0": "Matrice 300 RTK",
  "67-0": "Matrice 30",
  "67-1": "Matrice 30T",
  "77-0": "Mavic 3E",
  "77-1": "Mavic 3T",
  "77-2": "Mavic 3M",
  "89-0": "Matrice 350 RTK",
  "91-0": "Matrice 3D",
  "91-1": "Matrice 3TD",
  // Remote controllers (domain 2)
  "56-0": "DJI Smart Controller Enterprise",
  "119-0": "DJI RC Plus",
  "144-0": "DJI RC Pro Enterprise",
  // Docks (domain 3)
  "1-0": "DJI Dock",
  "2-0": "DJI Dock 2",
  "3-0": "DJI Dock 3",
};

/** The model name of a product, or undefined when the pair is unknown (or not given). */
export function productModel(type?: number, subType?: number): string | undefined {
  if (type === undefined || subType === undefined) return undefined;
  return MODELS[`${type}-${subType}`];
}
