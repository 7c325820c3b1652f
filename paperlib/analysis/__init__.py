"""Analysis: what the paper does with a trained model (section 3). Confusion and McNemar tests
(`confusion`), genre embeddings and PCA (`embeddings`), genre arithmetic (`equations`), attention
over time (`attention`), recommendations by signature (`recommendations`, `similar`), audio
players (`listening`) and every figure (`plots`). Functions return data; plots take data and return
figures. Imports the model, data and core layers, never claims or publish."""
