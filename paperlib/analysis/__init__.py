"""Analysis: what the paper does with a trained model (section 3). Confusion and McNemar tests
(`confusion`), genre embeddings and PCA (`embeddings`), genre arithmetic (`equations`), attention
over time (`attention`), attention against occlusion and gradients (`explanations`), recommendations
by signature (`recommendations`, `similar`), real genres from clip statistics (`real_genres`,
`real_gtzan`, `split_baselines`) and audio players (`listening`). Functions return data; the
figures of `paperlib.figures` draw it. Imports the model, data and core layers, never claims,
figures or publish."""
