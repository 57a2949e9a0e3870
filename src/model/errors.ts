// A model that cannot be used: unreadable or malformed file, missing or invalid metadata, wrong inputs/outputs.
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}
