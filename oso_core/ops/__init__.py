"""Operations: the weekly pipeline, failure alerts and their Discord embeds, freshness, the local Dask cluster."""
