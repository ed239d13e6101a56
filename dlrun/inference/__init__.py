"""Using a trained run: rebuild its model and data from its folder (run.py), the training
normalization it needs (stats.py), test it (evaluate.py), predict (predict.py), export and compress
it (export.py). The commands are dlrun/commands/{eval,predict,export}.py."""
