// AudioWorklet processor of the microphone input: gathers the captured samples into frames of
// `frameSamples` and posts each with the audio-clock frame (context sample index) of its first
// sample, so the server can put every onset on the audio clock the backing track plays on.

class MicCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frameSamples = options.processorOptions.frameSamples;
    this.buffer = new Float32Array(this.frameSamples);
    this.filled = 0;
    this.firstFrame = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true; // no input connected (yet)
    let offset = 0;
    while (offset < channel.length) {
      if (this.filled === 0) this.firstFrame = currentFrame + offset;
      const n = Math.min(channel.length - offset, this.frameSamples - this.filled);
      this.buffer.set(channel.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameSamples) {
        this.port.postMessage({ firstFrame: this.firstFrame, samples: this.buffer }, [this.buffer.buffer]);
        this.buffer = new Float32Array(this.frameSamples);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("drumjam-mic", MicCapture);
