/** One indexed blob: its key (the digest's hex), size and last pull (ms since the epoch). */
export interface IndexedBlob {
  readonly hex: string;
  readonly size: number;
  readonly lastPull: number;
}

/** Slots (and hash-table room) to start with. */
const INITIAL_CAPACITY = 1024;
/** Growth of the slot arrays when full: 1.5× bounds the unused room at a third. */
const GROWTH = 1.5;
const NONE = -1;

/**
 * The blobs of one digest algorithm with their sizes and last pulls, in last-pull order, in about
 * 70 to 110 bytes per blob: typed arrays, not a JavaScript object per blob (a Map of digest strings
 * to objects took about 475). Each blob has a slot: its digest's bytes, size, last pull and its
 * neighbours in a doubly linked list oldest first; an open-addressing hash table (linear probing,
 * backward-shift deletion) finds a slot by digest. A pull moves its blob to the newest end in
 * O(1), so a sweep walks only the oldest blobs. Blobs {@link add}ed without order (while the store
 * is read at start-up) are put in order by {@link reorder}.
 */
export class LastPullIndex {
  private capacity = INITIAL_CAPACITY;
  private keys: Buffer;
  private sizes: Float64Array;
  private lastPulls: Float64Array;
  private previous: Int32Array;
  private following: Int32Array;
  /** Slot + 1 of each hash bucket (0: empty). */
  private table: Int32Array;
  private mask: number;
  private readonly scratch: Buffer;
  /** Slots used at least once; those freed since are chained through `following`. */
  private used = 0;
  private freeSlots = NONE;
  private oldestSlot = NONE;
  private newestSlot = NONE;
  private count = 0;
  private total = 0;

  /** @param keyBytes bytes of a digest of this algorithm (32 for sha256). */
  constructor(private readonly keyBytes: number) {
    this.scratch = Buffer.alloc(keyBytes);
    this.keys = Buffer.alloc(this.capacity * keyBytes);
    this.sizes = new Float64Array(this.capacity);
    this.lastPulls = new Float64Array(this.capacity);
    this.previous = new Int32Array(this.capacity);
    this.following = new Int32Array(this.capacity);
    this.table = new Int32Array(tableLengthFor(this.capacity));
    this.mask = this.table.length - 1;
  }

  /** Blobs indexed. */
  get size(): number {
    return this.count;
  }

  /** Their total size in bytes. */
  get totalBytes(): number {
    return this.total;
  }

  /** Memory the index's arrays take. */
  get memoryBytes(): number {
    return (
      this.keys.byteLength +
      this.sizes.byteLength +
      this.lastPulls.byteLength +
      this.previous.byteLength +
      this.following.byteLength +
      this.table.byteLength
    );
  }

  /** The blob `hex`, if indexed. */
  get(hex: string): IndexedBlob | undefined {
    const slot = this.find(hex);
    return slot === NONE ? undefined : this.blobAt(slot);
  }

  /** Records a pull (or a store) of `hex` at `at`: the blob becomes the newest. */
  touch(hex: string, size: number, at: number): void {
    let slot = this.find(hex);
    if (slot === NONE) slot = this.insert(hex, size);
    else {
      this.unlink(slot);
      this.total += size - (this.sizes[slot] as number);
      this.sizes[slot] = size;
    }
    this.lastPulls[slot] = at;
    this.linkNewest(slot);
  }

  /**
   * Adds a blob found in the store, out of order (see {@link reorder}); a blob indexed already
   * keeps the later of the two last pulls.
   */
  add(hex: string, size: number, lastPull: number): void {
    const slot = this.find(hex);
    if (slot !== NONE) {
      if (lastPull > (this.lastPulls[slot] as number)) this.lastPulls[slot] = lastPull;
      return;
    }
    const added = this.insert(hex, size);
    this.lastPulls[added] = lastPull;
    this.linkNewest(added);
  }

  /** Removes `hex`; false if it was not indexed. */
  remove(hex: string): boolean {
    const slot = this.find(hex);
    if (slot === NONE) return false;
    this.unlink(slot);
    this.unhash(slot);
    this.total -= this.sizes[slot] as number;
    this.count -= 1;
    this.following[slot] = this.freeSlots;
    this.freeSlots = slot;
    return true;
  }

  /**
   * The blobs oldest first. Robust to removing the blob just yielded; a blob pulled meanwhile
   * moves to the end (and is met again there, or the walk ends before it).
   */
  *oldestFirst(): Generator<IndexedBlob> {
    for (let slot = this.oldestSlot; slot !== NONE;) {
      const next = this.following[slot] as number;
      yield this.blobAt(slot);
      slot = next;
    }
  }

  /** The oldest blob, if any. */
  oldest(): IndexedBlob | undefined {
    return this.oldestSlot === NONE ? undefined : this.blobAt(this.oldestSlot);
  }

  /** Puts every blob in last-pull order (after {@link add}ing the store's blobs). */
  reorder(): void {
    const slots = this.slotsByLastPull();
    this.oldestSlot = NONE;
    this.newestSlot = NONE;
    for (const slot of slots) this.linkNewest(slot);
  }

  private blobAt(slot: number): IndexedBlob {
    const start = slot * this.keyBytes;
    return {
      hex: this.keys.toString('hex', start, start + this.keyBytes),
      size: this.sizes[slot] as number,
      lastPull: this.lastPulls[slot] as number,
    };
  }

  /**
   * The used slots sorted by last pull. Sorted as one Float64Array of (seconds since the oldest
   * pull × 2^24 + slot), which a typed-array sort orders natively (a comparator sort of a million
   * slots takes seconds); slots or spans too large for 53 bits fall back to the comparator.
   */
  private slotsByLastPull(): Int32Array {
    const slots = new Int32Array(this.count);
    let filled = 0;
    let earliest = Number.POSITIVE_INFINITY;
    for (let slot = this.oldestSlot; slot !== NONE; slot = this.following[slot] as number) {
      slots[filled++] = slot;
      earliest = Math.min(earliest, this.lastPulls[slot] as number);
    }
    const SLOT_BITS = 2 ** 24;
    const span = (this.newestPull() - earliest) / 1000;
    if (this.capacity <= SLOT_BITS && span < 2 ** 28) {
      const packed = new Float64Array(filled);
      for (let index = 0; index < filled; index += 1) {
        const slot = slots[index] as number;
        const seconds = Math.floor(((this.lastPulls[slot] as number) - earliest) / 1000);
        packed[index] = seconds * SLOT_BITS + slot;
      }
      packed.sort();
      for (let index = 0; index < filled; index += 1)
        slots[index] = (packed[index] as number) % SLOT_BITS;
      return slots;
    }
    return slots.sort((a, b) => (this.lastPulls[a] as number) - (this.lastPulls[b] as number));
  }

  private newestPull(): number {
    let newest = Number.NEGATIVE_INFINITY;
    for (let slot = this.oldestSlot; slot !== NONE; slot = this.following[slot] as number)
      newest = Math.max(newest, this.lastPulls[slot] as number);
    return newest;
  }

  /** The slot of `hex`, or NONE. */
  private find(hex: string): number {
    this.scratch.write(hex, 'hex');
    for (
      let bucket = this.scratch.readUInt32LE(0) & this.mask;
      ;
      bucket = (bucket + 1) & this.mask
    ) {
      const entry = this.table[bucket] as number;
      if (entry === 0) return NONE;
      if (this.keyEquals(entry - 1)) return entry - 1;
    }
  }

  private keyEquals(slot: number): boolean {
    const start = slot * this.keyBytes;
    for (let index = 0; index < this.keyBytes; index += 1)
      if (this.keys[start + index] !== this.scratch[index]) return false;
    return true;
  }

  /** Takes a slot for `hex` (its key is in `scratch` after a failed `find`) and hashes it. */
  private insert(hex: string, size: number): number {
    if (this.freeSlots === NONE && this.used === this.capacity) {
      this.grow();
      this.scratch.write(hex, 'hex');
    }
    let slot: number;
    if (this.freeSlots !== NONE) {
      slot = this.freeSlots;
      this.freeSlots = this.following[slot] as number;
    } else slot = this.used++;
    this.scratch.copy(this.keys, slot * this.keyBytes);
    this.sizes[slot] = size;
    this.hash(slot);
    this.count += 1;
    this.total += size;
    return slot;
  }

  private bucketOf(slot: number): number {
    return this.keys.readUInt32LE(slot * this.keyBytes) & this.mask;
  }

  private hash(slot: number): void {
    let bucket = this.bucketOf(slot);
    while (this.table[bucket] !== 0) bucket = (bucket + 1) & this.mask;
    this.table[bucket] = slot + 1;
  }

  /** Removes a slot from the hash table, shifting later entries of its run back. */
  private unhash(slot: number): void {
    let hole = this.bucketOf(slot);
    while (this.table[hole] !== slot + 1) hole = (hole + 1) & this.mask;
    this.table[hole] = 0;
    for (let bucket = (hole + 1) & this.mask; ; bucket = (bucket + 1) & this.mask) {
      const entry = this.table[bucket] as number;
      if (entry === 0) return;
      const home = this.bucketOf(entry - 1);
      // The entry may move into the hole unless its home lies cyclically in (hole, bucket].
      const between =
        hole <= bucket ? home > hole && home <= bucket : home > hole || home <= bucket;
      if (!between) {
        this.table[hole] = entry;
        this.table[bucket] = 0;
        hole = bucket;
      }
    }
  }

  private linkNewest(slot: number): void {
    this.previous[slot] = this.newestSlot;
    this.following[slot] = NONE;
    if (this.newestSlot === NONE) this.oldestSlot = slot;
    else this.following[this.newestSlot] = slot;
    this.newestSlot = slot;
  }

  private unlink(slot: number): void {
    const before = this.previous[slot] as number;
    const after = this.following[slot] as number;
    if (before === NONE) this.oldestSlot = after;
    else this.following[before] = after;
    if (after === NONE) this.newestSlot = before;
    else this.previous[after] = before;
  }

  private grow(): void {
    const capacity = Math.ceil(this.capacity * GROWTH);
    const keys = Buffer.alloc(capacity * this.keyBytes);
    this.keys.copy(keys);
    this.keys = keys;
    this.sizes = grown(this.sizes, new Float64Array(capacity));
    this.lastPulls = grown(this.lastPulls, new Float64Array(capacity));
    this.previous = grown(this.previous, new Int32Array(capacity));
    this.following = grown(this.following, new Int32Array(capacity));
    this.capacity = capacity;
    this.table = new Int32Array(tableLengthFor(capacity));
    this.mask = this.table.length - 1;
    for (let slot = this.oldestSlot; slot !== NONE; slot = this.following[slot] as number)
      this.hash(slot);
  }
}

/** A hash table of at least twice `capacity` buckets (load ≤ 0.5), a power of two. */
function tableLengthFor(capacity: number): number {
  return 2 ** Math.ceil(Math.log2(capacity * 2));
}

function grown<T extends Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
