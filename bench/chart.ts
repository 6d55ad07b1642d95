// Draws latency distributions as an SVG chart (cumulative share of requests under a latency,
// log-scaled time axis): one glance tells the median, the tail and how they compare.
export interface Series {
  label: string;
  samples: readonly number[];
  color: string;
}

export function latencyChartSvg(title: string, series: readonly Series[]): string {
  const W = 760, H = 420, L = 70, R = 20, T = 40, B = 60;
  const all = series.flatMap((s) => s.samples).filter((v) => v > 0);
  const lo = Math.max(0.05, Math.min(...all, 1));
  const hi = Math.max(...all, lo * 10);
  const lx0 = Math.floor(Math.log10(lo)), lx1 = Math.ceil(Math.log10(hi));
  const x = (v: number) => L + ((Math.log10(Math.max(v, lo)) - lx0) / (lx1 - lx0)) * (W - L - R);
  const y = (q: number) => T + (1 - q) * (H - T - B);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  for (let e = lx0; e <= lx1; e++) {
    const v = 10 ** e;
    parts.push(
      `<line x1="${x(v)}" y1="${T}" x2="${x(v)}" y2="${H - B}" stroke="#ddd"/>`,
      `<text x="${x(v)}" y="${H - B + 16}" text-anchor="middle">${
        v >= 1 ? v : v.toFixed(-e)
      } ms</text>`,
    );
  }
  for (const q of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${L}" y1="${y(q)}" x2="${W - R}" y2="${y(q)}" stroke="#eee"/>`,
      `<text x="${L - 6}" y="${y(q) + 4}" text-anchor="end">${Math.round(q * 100)}%</text>`,
    );
  }
  parts.push(
    `<text x="${W / 2}" y="${H - 18}" text-anchor="middle">latency (log scale)</text>`,
    `<text x="16" y="${H / 2}" transform="rotate(-90 16 ${
      H / 2
    })" text-anchor="middle">share of commands at or under</text>`,
  );
  series.forEach((s, i) => {
    const sorted = [...s.samples].sort((a, b) => a - b);
    if (sorted.length === 0) return;
    const step = Math.max(1, Math.floor(sorted.length / 400));
    const pts: string[] = [];
    for (let k = 0; k < sorted.length; k += step) {
      pts.push(`${x(sorted[k]).toFixed(1)},${y((k + 1) / sorted.length).toFixed(1)}`);
    }
    pts.push(`${x(sorted[sorted.length - 1]).toFixed(1)},${y(1).toFixed(1)}`);
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(" ")}"/>`,
      `<rect x="${L + 10}" y="${T + 8 + i * 18}" width="12" height="3" fill="${s.color}"/>`,
      `<text x="${L + 28}" y="${T + 13 + i * 18}">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push(`</svg>`);
  return parts.join("\n");
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}
