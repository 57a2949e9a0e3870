"""birdwatch's training library: data (decoding, the three-way split), models (the MLP student, the convnet teacher),
the training loop, the teacher and its logit cache, the threshold rule with its confidence bound (calibrate), the
figures (report), the model card and metadata (card), the ONNX export. The scripts beside this folder use it."""
