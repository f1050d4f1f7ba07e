import { ProtocolError } from './errors';

/** Reads bits MSB first, skipping H.264 emulation-prevention bytes (00 00 03). */
class BitReader {
  private readonly bytes: number[] = [];
  private bit = 0;

  constructor(nal: Buffer) {
    for (let i = 0; i < nal.length; i++) {
      if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
      this.bytes.push(nal[i]!);
    }
  }

  u(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.bytes[this.bit >> 3];
      if (byte === undefined) throw new ProtocolError('ERR_MEDIA_TAG', 'SPS ends early');
      value = value * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return value;
  }

  /** Unsigned Exp-Golomb. */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new ProtocolError('ERR_MEDIA_TAG', 'SPS has an Exp-Golomb code longer than 32 bits');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const value = this.ue();
    return value % 2 === 1 ? (value + 1) / 2 : -value / 2;
  }
}

export interface AvcConfig {
  profile: number;
  level: number;
  width: number;
  height: number;
}

function skipScalingList(bits: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + bits.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Reads profile, level and the cropped picture size from an H.264 SPS NAL unit. */
export function parseSps(sps: Buffer): AvcConfig {
  const bits = new BitReader(sps);
  bits.u(8); // NAL header
  const profile = bits.u(8);
  bits.u(8); // constraint flags
  const level = bits.u(8);
  bits.ue(); // seq_parameter_set_id
  let chromaFormat = 1;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    chromaFormat = bits.ue();
    if (chromaFormat === 3) bits.u(1);
    bits.ue(); // bit depth luma
    bits.ue(); // bit depth chroma
    bits.u(1);
    if (bits.u(1)) {
      for (let i = 0; i < (chromaFormat !== 3 ? 8 : 12); i++) if (bits.u(1)) skipScalingList(bits, i < 6 ? 16 : 64);
    }
  }
  bits.ue(); // log2_max_frame_num
  const pocType = bits.ue();
  if (pocType === 0) bits.ue();
  else if (pocType === 1) {
    bits.u(1);
    bits.se();
    bits.se();
    const cycle = bits.ue();
    for (let i = 0; i < cycle; i++) bits.se();
  }
  bits.ue(); // max_num_ref_frames
  bits.u(1);
  const widthInMbs = bits.ue() + 1;
  const heightInMapUnits = bits.ue() + 1;
  const frameMbsOnly = bits.u(1);
  if (!frameMbsOnly) bits.u(1);
  bits.u(1);
  let [left, right, top, bottom] = [0, 0, 0, 0];
  if (bits.u(1)) [left, right, top, bottom] = [bits.ue(), bits.ue(), bits.ue(), bits.ue()];
  const cropX = chromaFormat === 0 ? 1 : chromaFormat === 3 ? 1 : 2;
  const cropY = (chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
  return {
    profile,
    level,
    width: widthInMbs * 16 - (left + right) * cropX,
    height: (2 - frameMbsOnly) * heightInMapUnits * 16 - (top + bottom) * cropY,
  };
}

/** Reads the first SPS of an AVCDecoderConfigurationRecord (the AVC sequence header's body). */
export function parseAvcDecoderConfiguration(record: Buffer): AvcConfig {
  if (record.length < 8 || record[0] !== 1) throw new ProtocolError('ERR_MEDIA_TAG', 'not an AVCDecoderConfigurationRecord');
  const spsCount = record[5]! & 0x1f;
  if (spsCount === 0) throw new ProtocolError('ERR_MEDIA_TAG', 'AVCDecoderConfigurationRecord has no SPS');
  const length = record.readUInt16BE(6);
  if (8 + length > record.length) throw new ProtocolError('ERR_MEDIA_TAG', 'SPS runs past the record');
  return parseSps(record.subarray(8, 8 + length));
}
