// AudioWorklet processor of the microphone input: gathers the captured samples into frames of
// `frameSamples` and posts each with the audio-clock frame (context sample index) of its first
// sample, so the server can put every onset on the audio clock the backing track plays on.
// With `channels: 2` (one interface, a channel per kit) it posts both channels of each frame.

class MicCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frameSamples = options.processorOptions.frameSamples;
    this.channels = options.processorOptions.channels || 1;
    this.buffers = this.fresh();
    this.filled = 0;
    this.firstFrame = 0;
  }

  fresh() {
    return Array.from({ length: this.channels }, () => new Float32Array(this.frameSamples));
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || !input[0]) return true; // no input connected (yet)
    const length = input[0].length;
    let offset = 0;
    while (offset < length) {
      if (this.filled === 0) this.firstFrame = currentFrame + offset;
      const n = Math.min(length - offset, this.frameSamples - this.filled);
      this.buffers.forEach((buffer, c) => {
        const channel = input[Math.min(c, input.length - 1)];
        buffer.set(channel.subarray(offset, offset + n), this.filled);
      });
      this.filled += n;
      offset += n;
      if (this.filled === this.frameSamples) {
        const channels = this.buffers;
        this.port.postMessage({ firstFrame: this.firstFrame, samples: channels[0], channels },
          channels.map((b) => b.buffer));
        this.buffers = this.fresh();
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("drumjam-mic", MicCapture);
