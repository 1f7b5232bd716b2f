"""`depa-keys`: the data provider's key broker."""

from chain.placeholder import placeholder_app

app = placeholder_app(
    "depa-keys", "release dataset keys only to attested clean rooms under active contracts.", "the key-broker issue"
)
