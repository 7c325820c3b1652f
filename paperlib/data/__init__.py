"""Data: from audio files to the arrays a model reads. Audio reading and the length rule
(`audio`), the synthetic GTZAN generator (`synthetic`), GTZAN's folder layouts, download and
published splits (`layout`, `download`, `gtzan_splits`), Kaggle's spectrogram PNGs
(`spectrogram_images`), log-mel images and tokens (`features`) and their cache (`token_cache`),
each clip's fold (`folds`) and step 01 of a run (`prepare`). Imports only `paperlib.core`."""
