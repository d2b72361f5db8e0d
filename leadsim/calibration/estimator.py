"""``MQLCalibrator``: a regularised logistic model for "will sales accept it?".

A scikit-learn classifier that takes any table (a feature frame from
:func:`leadsim.calibration.build_features`, or a plain CRM export) and infers
the column types itself: numbers (and booleans) are scaled, with an explicit
missing-value indicator; everything else is one-hot encoded with rare
categories pooled and unseen ones mapped to that pool.  The regularisation
strength is chosen by internal cross-validation (log loss).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"visits": rng.poisson(3, 400), "region": rng.choice(["DACH", "UK"], 400)})
>>> y = (rng.random(400) < 1 / (1 + np.exp(2 - 0.5 * X["visits"]))).astype(int)
>>> model = MQLCalibrator(cv=3).fit(X, y)
>>> model.predict_proba(X).shape
(400, 2)
>>> bool(model.coefficients().set_index("feature").loc["visits", "coef"] > 0)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, StandardScaler
from sklearn.utils import check_array, check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from leadsim.errors import DataError

__all__ = ["MQLCalibrator"]

_MISSING = "(missing)"


class MQLCalibrator(ClassifierMixin, BaseEstimator):
    """Regularised logistic regression over an inferred column layout.

    Parameters
    ----------
    Cs : sequence of float
        Inverse regularisation strengths tried by internal cross-validation.
    cv : int or cross-validation splitter
        Folds for choosing ``C`` (stratified k-fold for an int; pass e.g.
        ``TimeSeriesSplit`` for time-ordered folds).  With fewer labelled
        examples per class than folds, the middle of ``Cs`` is used as is.
    categorical : "auto" or list of column names/indices
        Which columns are categories; ``"auto"`` takes every column that is
        neither numeric nor boolean.
    min_frequency : float or int
        Categories rarer than this (share of rows, or a count) are pooled into
        one "infrequent" level; unseen categories at prediction go there too.
    numeric : {"scale", "bins"}
        Standardise numeric columns, or bin them by quantiles (one-hot).
    n_bins : int
        Bins per numeric column when ``numeric="bins"``.
    class_weight, max_iter, tol, solver, random_state
        Passed to the logistic regression.
    cv_max_rows : int or None
        With more rows than this, ``C`` is chosen by cross-validation on a
        random subsample of that many rows (``random_state``) and the model
        is then refitted on all rows with that ``C`` (for millions of rows).
    blas_threads : int or None
        BLAS threads while fitting (1 avoids oversubscription on a busy
        machine; None leaves the library default).
    """

    def __init__(
        self,
        Cs: Sequence[float] = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0),
        cv=5,
        categorical="auto",
        min_frequency: float | int = 0.01,
        numeric: str = "scale",
        n_bins: int = 5,
        class_weight=None,
        max_iter: int = 1000,
        tol: float = 1e-4,
        solver: str = "newton-cholesky",
        random_state=None,
        blas_threads: int | None = 1,
        cv_max_rows: int | None = None,
    ):
        self.Cs = Cs
        self.cv = cv
        self.categorical = categorical
        self.min_frequency = min_frequency
        self.numeric = numeric
        self.n_bins = n_bins
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.random_state = random_state
        self.blas_threads = blas_threads
        self.cv_max_rows = cv_max_rows

    # ------------------------------------------------------------------ input

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _frame(self, X, *, reset: bool) -> pd.DataFrame:
        """Validate ``X`` and return it as a DataFrame with columns typed for the encoder."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] < 1:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
            if X.shape[1] < 1:
                raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
            df = X.reset_index(drop=True)
            df.columns = [str(c) for c in df.columns]
        else:
            arr = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype="numeric")
            df = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
        if reset:
            self.categorical_columns_, self.numeric_columns_ = self._infer_types(df)
        out = {}
        for c in self.numeric_columns_:
            col = df[c]
            try:
                values = pd.to_numeric(col.astype("float64") if col.dtype == bool else col).to_numpy("float64", na_value=np.nan)
            except (TypeError, ValueError):
                raise DataError(
                    f"column {c!r} was numeric when the model was fitted but holds non-numbers now "
                    f"(e.g. {col.dropna().iloc[0]!r}); clean the column or refit"
                ) from None
            if np.isinf(values).any():
                raise ValueError(f"Input X contains infinity or a value too large for dtype('float64') (column {c!r}).")
            out[c] = values
        if reset:
            self.category_levels_ = {}
        for c in self.categorical_columns_:
            col = df[c]
            text = col.astype("string").fillna(_MISSING)
            if reset:
                self.category_levels_[c] = pd.Index(pd.unique(text.to_numpy(dtype=object)), dtype=object)
            # integer codes (unseen: -1, pooled with the infrequent ones) keep the encoder on its fast numeric path
            out[c] = self.category_levels_[c].get_indexer(text.to_numpy(dtype=object)).astype(np.int64)
        return pd.DataFrame(out, columns=df.columns)

    def _infer_types(self, df: pd.DataFrame) -> tuple[list[str], list[str]]:
        if isinstance(self.categorical, str) and self.categorical == "auto":
            cats = [
                c for c in df.columns if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
            ]
        else:
            names = list(df.columns)
            cats = []
            for c in self.categorical:
                name = names[c] if isinstance(c, Integral) and not isinstance(c, bool) else str(c)
                if name not in names:
                    raise DataError(f"categorical column {c!r} is not among the input columns {names}")
                cats.append(name)
        return [c for c in df.columns if c in cats], [c for c in df.columns if c not in cats]

    def _preprocessor(self) -> ColumnTransformer:
        if self.numeric == "scale":
            num = Pipeline([("impute", SimpleImputer(strategy="mean", add_indicator=True)), ("scale", StandardScaler())])
        elif self.numeric == "bins":
            num = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="mean", add_indicator=True)),
                    ("bin", KBinsDiscretizer(n_bins=self.n_bins, encode="onehot-dense", strategy="quantile", quantile_method="averaged_inverted_cdf")),
                ]
            )
        else:
            raise ValueError(f"numeric={self.numeric!r}: use 'scale' or 'bins'")
        cat = OneHotEncoder(min_frequency=self.min_frequency, handle_unknown="infrequent_if_exist", sparse_output=False)
        return ColumnTransformer(
            [("num", num, self.numeric_columns_), ("cat", cat, self.categorical_columns_)],
            remainder="drop",
            verbose_feature_names_out=True,
        )

    # ------------------------------------------------------------------ fit / predict

    def fit(self, X, y, sample_weight=None):
        """Fit the preprocessing and the logistic model; returns ``self``."""
        if self.blas_threads is None:
            return self._fit(X, y, sample_weight)
        with threadpool_limits(limits=self.blas_threads, user_api="blas"):
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        df = self._frame(X, reset=True)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        y = column_or_1d(y, warn=True)
        if len(y) != len(df):
            raise ValueError(f"X has {len(df)} rows but y has {len(y)}; give one label per row")
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise DataError(
                f"y has only one class ({self.classes_[0]!r}); the model needs both accepted and rejected hand-offs"
            )
        sw = _check_sample_weight(sample_weight, df, dtype=np.float64)
        self.preprocessor_ = self._preprocessor()
        Xt = self.preprocessor_.fit_transform(df)
        self.feature_names_out_ = np.asarray(self.preprocessor_.get_feature_names_out(), dtype=object)
        Cs = [float(c) for c in self.Cs]
        min_count = np.bincount(y_enc).min()
        folds = self.cv
        if len(Cs) == 1 or folds is None:
            folds = None
        elif isinstance(folds, Integral):
            folds = StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=self.random_state) if min_count >= folds >= 2 else None
        plain = dict(class_weight=self.class_weight, max_iter=self.max_iter, tol=self.tol, solver=self.solver)
        if folds is None:
            self.C_ = Cs[len(Cs) // 2]
            model = LogisticRegression(C=self.C_, **plain).fit(Xt, y_enc, sample_weight=sw)
        else:
            cv_model = LogisticRegressionCV(
                Cs=Cs, cv=folds, l1_ratios=(0.0,), scoring="neg_log_loss", random_state=self.random_state,
                use_legacy_attributes=False, **plain,
            )
            sub = slice(None)
            if self.cv_max_rows is not None and len(y_enc) > self.cv_max_rows:
                sub = np.sort(check_random_state(self.random_state).choice(len(y_enc), self.cv_max_rows, replace=False))
            cv_model.fit(Xt[sub], y_enc[sub], sample_weight=sw[sub])
            self.C_ = float(cv_model.C_)
            model = cv_model
            if not isinstance(sub, slice):
                model = LogisticRegression(C=self.C_, **plain).fit(Xt, y_enc, sample_weight=sw)
        self.logistic_ = model
        self.n_iter_ = np.atleast_1d(np.max(model.n_iter_)).astype(int)
        self.coef_ = model.coef_
        self.intercept_ = model.intercept_
        return self

    def _transform(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.preprocessor_.transform(self._frame(X, reset=False))

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the positive class (binary) or per-class scores."""
        Xt = self._transform(X)
        return self.logistic_.decision_function(Xt)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        Xt = self._transform(X)
        return self.logistic_.predict_proba(Xt)

    def predict_log_proba(self, X) -> np.ndarray:
        return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # ------------------------------------------------------------------ interpretation

    def coefficients(self) -> pd.DataFrame:
        """Binary-model coefficients in the units of the input columns.

        One row per numeric column (``level`` empty: log-odds per unit; with
        ``numeric="bins"`` one row per bin), per missing-value indicator
        (``level="missing"``) and per category level; plus an ``(intercept)``
        row so that ``intercept + sum(coef * x)`` is the fitted log-odds for a
        row without missing numbers.
        """
        check_is_fitted(self)
        if len(self.classes_) != 2:
            raise DataError("coefficients() describes a two-class model; this one has more classes")
        coef = self.coef_[0]
        rows, shift, k = [], 0.0, 0
        num = self.preprocessor_.named_transformers_.get("num")
        if self.numeric_columns_ and num is not None and num != "drop":
            imp = num.named_steps["impute"]
            kept = [c for c, s in zip(self.numeric_columns_, imp.statistics_, strict=True) if not np.isnan(s)]
            ind = [self.numeric_columns_[i] for i in (imp.indicator_.features_ if imp.indicator_ is not None else [])]
            if self.numeric == "scale":
                sc = num.named_steps["scale"]
                for j, name in enumerate([*kept, *[f"{c}" for c in ind]]):
                    b = coef[k + j] / sc.scale_[j]
                    shift -= b * sc.mean_[j]
                    rows.append({"feature": name, "level": "" if j < len(kept) else "missing", "coef": b})
                k += len(kept) + len(ind)
            else:
                names = self.feature_names_out_
                n_num = sum(1 for n in names if str(n).startswith("num__"))
                for j in range(n_num):
                    rows.append({"feature": str(names[k + j]).removeprefix("num__"), "level": "bin", "coef": coef[k + j]})
                k += n_num
        cat = self.preprocessor_.named_transformers_.get("cat")
        if self.categorical_columns_ and cat is not None and cat != "drop":
            infrequent = getattr(cat, "infrequent_categories_", [None] * len(self.categorical_columns_))
            for col, cats, rare in zip(self.categorical_columns_, cat.categories_, infrequent, strict=True):
                levels = self.category_levels_[col]
                rare_set = set() if rare is None else set(rare.tolist())
                for code in cats:
                    if code in rare_set:
                        continue
                    rows.append({"feature": col, "level": str(levels[code]) if code >= 0 else "(unseen)",
                                 "coef": coef[k]})
                    k += 1
                if rare_set:
                    rows.append({"feature": col, "level": "infrequent_sklearn", "coef": coef[k]})
                    k += 1
        rows.append({"feature": "(intercept)", "level": "", "coef": float(self.intercept_[0]) + shift})
        return pd.DataFrame(rows, columns=["feature", "level", "coef"])
