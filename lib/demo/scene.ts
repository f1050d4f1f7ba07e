import type { Frame } from '../plugins/contract';

export interface SceneView {
  /** Camera position from moveCamera; one unit moves the object 10 pixels. */
  cameraX: number;
  cameraY: number;
}

type Vec3 = [number, number, number];

const CUBE: Vec3[] = [
  [-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
  [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1],
];
/** Faces as vertex indices, counter-clockwise seen from outside, with a base colour (B, G, R). */
const FACES: Array<{ corners: [number, number, number, number]; color: Vec3 }> = [
  { corners: [0, 3, 2, 1], color: [230, 120, 40] },
  { corners: [4, 5, 6, 7], color: [40, 170, 240] },
  { corners: [0, 1, 5, 4], color: [60, 200, 90] },
  { corners: [3, 7, 6, 2], color: [200, 60, 200] },
  { corners: [0, 4, 7, 3], color: [60, 60, 230] },
  { corners: [1, 2, 6, 5], color: [220, 220, 60] },
];
const LIGHT: Vec3 = normalize([0.4, -0.6, -1]);

function normalize(v: Vec3): Vec3 {
  const length = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / length, v[1] / length, v[2] / length];
}

function rotate([x, y, z]: Vec3, a: number, b: number): Vec3 {
  const [ca, sa, cb, sb] = [Math.cos(a), Math.sin(a), Math.cos(b), Math.sin(b)];
  const x1 = x * ca + z * sa;
  const z1 = -x * sa + z * ca;
  return [x1, y * cb - z1 * sb, y * sb + z1 * cb];
}

/**
 * The demo scene: a lit cube turning over a still gradient, drawn by a small
 * software rasterizer into BGR24 (Screen Video's own pixel order). The still
 * background is what makes Screen Video cheap here: only blocks the cube crosses change.
 */
export class DemoScene {
  private readonly background: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.background = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      const shade = Math.round(40 + (150 * y) / height);
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 3;
        const grid = x % 40 === 0 || y % 40 === 0 ? 25 : 0;
        this.background[o] = shade + grid;
        this.background[o + 1] = Math.round(shade * 0.7) + grid;
        this.background[o + 2] = Math.round(shade * 0.45) + grid;
      }
    }
  }

  /** The still picture behind the cube. */
  backgroundFrame(): Frame {
    return { width: this.width, height: this.height, format: 'bgr24', data: Buffer.from(this.background) };
  }

  render(time: number, view: SceneView): Frame {
    const { width, height } = this;
    const data = Buffer.from(this.background);
    const size = Math.min(width, height) * 0.22;
    const centerX = width / 2 + view.cameraX * 10;
    const centerY = height / 2 - view.cameraY * 10;
    const a = time / 900;
    const b = time / 1600;
    const world = CUBE.map((v) => rotate(v, a, b));
    const screen = world.map(([x, y, z]) => {
      const perspective = 4 / (z + 5);
      return [centerX + x * size * perspective, centerY + y * size * perspective] as const;
    });
    for (const face of FACES) {
      const [i0, i1, i2, i3] = face.corners;
      const [p0, p1, p2, p3] = [screen[i0]!, screen[i1]!, screen[i2]!, screen[i3]!];
      // Back faces wind clockwise on screen.
      if ((p1[0] - p0[0]) * (p2[1] - p0[1]) - (p1[1] - p0[1]) * (p2[0] - p0[0]) >= 0) continue;
      const [w0, w1, w2] = [world[i0]!, world[i1]!, world[i2]!];
      const normal = normalize(cross(sub(w1, w0), sub(w2, w0)));
      const light = 0.35 + 0.65 * Math.max(0, normal[0] * LIGHT[0] + normal[1] * LIGHT[1] + normal[2] * LIGHT[2]);
      const color: Vec3 = [face.color[0] * light, face.color[1] * light, face.color[2] * light];
      this.triangle(data, p0, p1, p2, color);
      this.triangle(data, p0, p2, p3, color);
    }
    return { width, height, format: 'bgr24', data };
  }

  /** Fills a triangle by testing pixel centres in its bounding box against its three edges. */
  private triangle(data: Buffer, a: readonly [number, number], b: readonly [number, number], c: readonly [number, number], color: Vec3): void {
    const minX = Math.max(0, Math.floor(Math.min(a[0], b[0], c[0])));
    const maxX = Math.min(this.width - 1, Math.ceil(Math.max(a[0], b[0], c[0])));
    const minY = Math.max(0, Math.floor(Math.min(a[1], b[1], c[1])));
    const maxY = Math.min(this.height - 1, Math.ceil(Math.max(a[1], b[1], c[1])));
    const edge = (p: readonly [number, number], q: readonly [number, number], x: number, y: number): number => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
    const area = edge(a, b, c[0], c[1]);
    if (area === 0) return;
    const [blue, green, red] = [Math.round(color[0]), Math.round(color[1]), Math.round(color[2])];
    for (let y = minY; y <= maxY; y++) {
      for (let x = minX; x <= maxX; x++) {
        const [px, py] = [x + 0.5, y + 0.5];
        const e0 = edge(a, b, px, py) / area;
        const e1 = edge(b, c, px, py) / area;
        const e2 = edge(c, a, px, py) / area;
        if (e0 < 0 || e1 < 0 || e2 < 0) continue;
        const o = (y * this.width + x) * 3;
        data[o] = blue;
        data[o + 1] = green;
        data[o + 2] = red;
      }
    }
  }
}

function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
