"""GTZAN's ten genres, in GTZAN's (alphabetical) order: the label of a genre is its index here."""

GENRES: tuple[str, ...] = (
    "blues", "classical", "country", "disco", "hiphop",
    "jazz", "metal", "pop", "reggae", "rock",
)
