"""Checksums that databases migrated before the split of sql/ into migrations/ and definitions/
(commit f67338d and earlier) recorded in schema_migrations for the files that remain migrations.

Those files held functions and views as well and some were edited after they were applied; every
version that was ever committed is accepted here, frozen. Databases that recorded one of them are
brought to the current state by sql/migrations/060_legacy_leftovers.sql and the definitions.
Never add to this list: a migration applied from now on must match its file.
"""
LEGACY_CHECKSUMS: dict[str, set[str]] = {
    "001_extensions.sql": {"d54c201d1c86d9751903e84e6d67ae6d89f9ca578cc53ade03adf813184ef9ca"},
    "002_reference.sql": {"ca374bdb836f528fbb59124ac854fd6b9b4ac1a7c54a54c78ec01e10fc485a87"},
    "003_events.sql": {"5042bc2bd8066abe9b2256572cec9e71560fcf97cf9a89e4d10424b03d1fba03"},
    "004_assets.sql": {"eb6c1af2dc9272b1d47676d1ba9867f5c9508616f8b82ab46ea1fab75361eb2c"},
    "005_ops.sql": {"92b8a2378ca3be6d8f62a71065b1fc172191d6f3a9b5bdda939ae9fd966c6f4e"},
    "006_lookup.sql": {"f0b2bbeaf7d3705322fd488a2b82aecce05a8c30edd783d368a8c09e761aa405"},
    "007_layer_views.sql": {"50e3fa472878f25d4a76e451144c9a499a5ae1184ec3569f444eb4947322597b"},
    "009_h3_area.sql": {"f3bf7e7cf30cad8ca4cbb47400fc24582327f0d4ed495ddfd09e1db956dd906d"},
    "010_geocode_reference.sql": {
        "1c57dfe5be32828d942d33248a4e496a7f546d75063763b5981b429f4287ca42",
        "292edc4486b4799173d77baa3c4b5f63068b91d33721fa3088c0f4f970b64035",
        "3a127e5054322658d8632fc14141a3908bf3ed406a1e6981ce8704e31dc9539b",
        "654518d03f5ea05f5a4e6b7054526dcd80bd8ad62db34591cff6bf39a826ef9e",
    },
    "014_geocode_crossings.sql": {"b3a90e3ebf4f337d04dae7535c5283b76d0f2b529049a8f18fb5ee41b529b6c5"},
    "015_geocode_candidates_extent.sql": {
        "6f266b2a4771eca9e2a240829c415c8d1924233da80fe98e8fca9fb552cf5b2b",
        "9328f804119932ec30cd65c81c3399c99ff89f2f37b98e28cf487c941241229f",
    },
    "018_geocode_reverse_hint.sql": {"0266fcd4401bd28eb3446d712bcb2528fa8becc92bd1e3b54e2ba6b47310a94c"},
    "030_routing.sql": {"ea942514e89a86acedeeec84a54bd9d8826bbe59c2470c4f50af36ac22469e87"},
    "031_proximity.sql": {
        "1e92542167082da55dc1c9edc4fbe144d7e4748d317ae07ef383760b57f8db36",
        "262c9cfe34c1f403e117673c74d5d8378fd83d2a1f7d86e2c2872f8cf2990c6a",
        "65f09e2e400bade0d4b9848e3eec00832c2c4f72cf093a75d7e15eff26fa5c63",
    },
    "040_tasks.sql": {"4fe6b3393b6d45fe3c886847e86c83afa3704aa5e736b1e23f8c4009334cb83e"},
    "051_events_geom_time_index.sql": {
        "4cb7c385086acddd76ba079cbe9f2c50502862f070524a0d339685a6335ace3c",
        "67c040c05ea050fb92a7b61cbe2719461c30d7859c635d27a42ce46e15dad4da",
    },
}
