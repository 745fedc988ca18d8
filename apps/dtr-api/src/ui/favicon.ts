/** Side of the icon in pixels. */
const SIZE = 32;

/** Whether pixel (x, y) of the icon is the white mark: three stacked layers, as in an image. */
function isMark(x: number, y: number): boolean {
  const inLayer = (top: number) => y >= top && y < top + 4 && x >= 8 && x < 24;
  return inLayer(8) || inLayer(14) || inLayer(20);
}

/** Whether pixel (x, y) lies inside the rounded square background. */
function isInside(x: number, y: number): boolean {
  const radius = 6;
  const cx = Math.min(Math.max(x + 0.5, radius), SIZE - radius);
  const cy = Math.min(Math.max(y + 0.5, radius), SIZE - radius);
  return (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= radius ** 2;
}

/**
 * The site's icon as a Windows icon file (one 32×32 image, 32-bit BGRA bitmap): the brand blue
 * rounded square with three white layers. Built once from code, so no binary file is kept.
 */
export function faviconIco(): Buffer {
  const header = Buffer.alloc(6 + 16 + 40);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(1, 4); // one image
  const pixels = Buffer.alloc(SIZE * SIZE * 4);
  const maskRow = Math.ceil(SIZE / 32) * 4;
  const mask = Buffer.alloc(maskRow * SIZE);
  for (let row = 0; row < SIZE; row += 1) {
    const y = SIZE - 1 - row; // bitmaps run bottom-up
    for (let x = 0; x < SIZE; x += 1) {
      const offset = (row * SIZE + x) * 4;
      if (!isInside(x, y)) continue; // transparent
      const [red, green, blue] = isMark(x, y) ? [255, 255, 255] : [0x1f, 0x5f, 0xbf];
      pixels.writeUInt8(blue, offset);
      pixels.writeUInt8(green, offset + 1);
      pixels.writeUInt8(red, offset + 2);
      pixels.writeUInt8(255, offset + 3);
    }
  }
  const imageBytes = 40 + pixels.length + mask.length;
  header.writeUInt8(SIZE, 6);
  header.writeUInt8(SIZE, 7);
  header.writeUInt8(0, 8); // no palette
  header.writeUInt8(0, 9);
  header.writeUInt16LE(1, 10); // planes
  header.writeUInt16LE(32, 12); // bits per pixel
  header.writeUInt32LE(imageBytes, 14);
  header.writeUInt32LE(22, 18); // offset of the image
  header.writeUInt32LE(40, 22); // BITMAPINFOHEADER
  header.writeInt32LE(SIZE, 26);
  header.writeInt32LE(SIZE * 2, 30); // colour and mask
  header.writeUInt16LE(1, 34);
  header.writeUInt16LE(32, 36);
  header.writeUInt32LE(0, 38); // uncompressed
  header.writeUInt32LE(pixels.length + mask.length, 42);
  return Buffer.concat([header, pixels, mask]);
}
