//! One-file checkpoints: every weight and buffer as an f32 safetensors tensor, with the config,
//! data spec, column schema, classes, seed state and history as JSON metadata, and optionally
//! the training run (optimiser moments as `optim.*` tensors, the best held-out epoch's weights as
//! `best.*` and the last epoch's as `last.*` when the model holds the best, counters, the run's
//! seed and early-stopping settings as metadata) so that training resumes exactly. Written
//! to a temporary file and renamed into place, so an existing checkpoint is never half-overwritten.

use crate::budget::FitParams;
use crate::error::{Error, Result};
use crate::model::{Fitted, Layout, Model, Network};
use crate::optim::OptimiserState;
use crate::rng::with_seed;
use crate::schema::{Schema, SchemaRecord};
use crate::seed::SeedStream;
use crate::train::{Best, HeldOut, Run, Weights};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use tch::{Device, Kind, Tensor};

const FORMAT: &str = "genaug";
/// Version 2 stores the column schema; version 1 files (min-max bounds as `scaler.*` tensors)
/// still load. Version 3: an MLP GAN's discriminator also sees each batch's means, so one saved
/// by an earlier version has weights of other shapes (see [`Network::check_saved_by`]).
/// Version 4: a VAE stores the latent prior `sample` draws from (see [`Network::added_after`]).
const VERSION: &str = "4";
const READABLE: [&str; 4] = ["1", "2", "3", "4"];

/// A checkpoint file's contents, read but not yet turned into a model.
pub struct Checkpoint {
    pub metadata: HashMap<String, String>,
    pub tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    /// The model class that wrote it (`"VAE"`, ...).
    pub fn kind(&self) -> &str {
        self.metadata.get("model").map(String::as_str).unwrap_or("")
    }

    fn field<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let text = self
            .metadata
            .get(key)
            .ok_or_else(|| Error::Checkpoint(format!("checkpoint metadata lacks {key:?}")))?;
        serde_json::from_str(text)
            .map_err(|e| Error::Checkpoint(format!("checkpoint metadata {key:?} is corrupt: {e}")))
    }

    fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| Error::Checkpoint(format!("checkpoint lacks tensor {name:?}")))
    }

    /// The checkpoint with its weight and optimiser tensors on `device` (shared, not copied,
    /// when they are there already).
    fn on(&self, device: Device) -> Result<Checkpoint> {
        let mut tensors = HashMap::with_capacity(self.tensors.len());
        for (name, tensor) in &self.tensors {
            let model_part = ["net.", "optim.", "best.", "last."]
                .iter()
                .any(|prefix| name.starts_with(prefix));
            let placed = if model_part {
                tensor.f_to_device(device)?
            } else {
                tensor.shallow_clone()
            };
            tensors.insert(name.clone(), placed);
        }
        Ok(Checkpoint {
            metadata: self.metadata.clone(),
            tensors,
        })
    }

    /// The tensor `name`, which must have the shape of `like`.
    fn sized_tensor(&self, name: &str, like: &Tensor) -> Result<&Tensor> {
        let saved = self.tensor(name)?;
        if saved.size() != like.size() {
            return Err(Error::Checkpoint(format!(
                "checkpoint tensor {name:?} has shape {:?}, the model expects {:?}",
                saved.size(),
                like.size()
            )));
        }
        Ok(saved)
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::Checkpoint(format!("cannot encode checkpoint metadata: {e}")))
}

/// A training run's metadata; its tensors are stored beside it.
#[derive(Serialize, Deserialize)]
struct RunRecord {
    seed: u64,
    held_out: HeldOut,
    patience: Option<usize>,
    /// The best held-out epoch and its loss.
    best: Option<(usize, f64)>,
    /// The optimisers' counters and learning rates.
    scalars: BTreeMap<String, f64>,
    /// Whether `last.*` tensors hold the weights to resume from.
    last: bool,
}

/// Serialises a model (fitted or not) to checkpoint bytes, with its training run (optimiser state
/// included) when `include_optimizer` is set.
pub fn to_bytes<N: Network>(model: &Model<N>, include_optimizer: bool) -> Result<Vec<u8>> {
    let mut metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("model".to_string(), N::KIND.to_string()),
        ("config".to_string(), json(&model.config)?),
        ("seed".to_string(), json(&model.seed)?),
        ("seed_state".to_string(), json(&model.seeds.state)?),
        ("history".to_string(), json(&model.history)?),
    ]);
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    if let Some(fitted) = &model.fitted {
        metadata.insert("spec".into(), json(&fitted.spec)?);
        metadata.insert("classes".into(), json(&fitted.classes)?);
        metadata.insert("class_counts".into(), json(&fitted.class_counts)?);
        metadata.insert("image".into(), json(&fitted.layout.image)?);
        let params = model
            .fit_params
            .as_ref()
            .ok_or_else(|| Error::Internal("a fitted model without fit_params".into()))?;
        metadata.insert("fit_params".into(), json(params)?);
        metadata.insert("schema".into(), json(&fitted.schema.record)?);
        for (name, var) in fitted.net.var_store().variables() {
            tensors.push((format!("net.{name}"), var));
        }
        let run = fitted.run.as_ref().filter(|_| include_optimizer);
        let state = match run {
            Some(_) => fitted.net.optimiser_state()?,
            None => None,
        };
        if let (Some(run), Some(state)) = (run, state) {
            let record = RunRecord {
                seed: run.seed,
                held_out: run.held_out,
                patience: run.patience,
                best: run.best.as_ref().map(|best| (best.epoch, best.loss)),
                scalars: state.scalars,
                last: run.last.is_some(),
            };
            metadata.insert("run".into(), json(&record)?);
            for (name, tensor) in state.tensors {
                tensors.push((format!("optim.{name}"), tensor));
            }
            for (name, tensor) in run.best.iter().flat_map(|best| &best.weights) {
                tensors.push((format!("best.{name}"), tensor.shallow_clone()));
            }
            for (name, tensor) in run.last.iter().flatten() {
                tensors.push((format!("last.{name}"), tensor.shallow_clone()));
            }
        }
    }
    let mut buffers = Vec::with_capacity(tensors.len());
    for (name, tensor) in &tensors {
        let cpu = tensor
            .f_detach()?
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Float)?
            .f_contiguous()?;
        let numel = cpu.numel();
        let mut bytes = vec![0u8; numel * 4];
        cpu.f_copy_data_u8(&mut bytes, numel)?;
        let shape: Vec<usize> = cpu.size().iter().map(|&d| d as usize).collect();
        buffers.push((name.clone(), shape, bytes));
    }
    let views = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            Ok((
                name.as_str(),
                TensorView::new(Dtype::F32, shape.clone(), bytes)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| Error::Checkpoint(format!("cannot encode checkpoint: {e}")))?;
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::Checkpoint(format!("cannot encode checkpoint: {e}")))?;
    with_sorted_header(&bytes)
}

/// `bytes` with the safetensors header's keys in sorted order: safetensors writes the metadata
/// map in a random order, and the same model should give the same bytes (files, pickles and
/// the hashes that tell them apart). serde_json's map is sorted (its `preserve_order` feature
/// is off).
fn with_sorted_header(bytes: &[u8]) -> Result<Vec<u8>> {
    let broken = || Error::Internal("safetensors wrote a header it cannot have".into());
    let size = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(|b| u64::from_le_bytes(b) as usize)
        .ok_or_else(broken)?;
    let (header, data) = bytes[8..].split_at_checked(size).ok_or_else(broken)?;
    let header: serde_json::Value = serde_json::from_slice(header).map_err(|_| broken())?;
    let mut text = serde_json::to_vec(&header).map_err(|_| broken())?;
    // safetensors keeps the data 8-byte aligned by padding the header with spaces.
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + text.len() + data.len());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    Ok(out)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and an atomic rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_error = |e: std::io::Error| {
        Error::Checkpoint(format!("cannot write checkpoint {}: {e}", path.display()))
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::Checkpoint(format!("{} is not a file path", path.display())))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(io_error)
}

/// Parses checkpoint bytes; `source` names them in errors.
pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Checkpoint> {
    let parsed = SafeTensors::deserialize(bytes).map_err(|e| {
        Error::Checkpoint(format!(
            "{source} is not a readable safetensors file (truncated or corrupt?): {e}"
        ))
    })?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::Checkpoint(format!("{source} has an unreadable header: {e}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    if metadata.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(Error::Checkpoint(format!(
            "{source} is a safetensors file but not a genaug checkpoint"
        )));
    }
    if !metadata
        .get("version")
        .is_some_and(|v| READABLE.contains(&v.as_str()))
    {
        return Err(Error::Checkpoint(format!(
            "{source} has checkpoint version {:?}; this genaug reads versions {READABLE:?}",
            metadata.get("version")
        )));
    }
    let mut tensors = HashMap::new();
    for (name, view) in parsed.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(Error::Checkpoint(format!(
                "{source}: tensor {name:?} is {:?}, expected F32",
                view.dtype()
            )));
        }
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        tensors.insert(
            name,
            Tensor::f_from_data_size(view.data(), &shape, Kind::Float)?,
        );
    }
    Ok(Checkpoint { metadata, tensors })
}

/// Reads a checkpoint file.
pub fn read(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::Checkpoint(format!("no checkpoint file at {}", path.display()))
        }
        _ => Error::Checkpoint(format!("cannot read checkpoint {}: {e}", path.display())),
    })?;
    from_bytes(&bytes, &path.display().to_string())
}

/// Rebuilds a model of type `N` on `device` from a checkpoint. Whatever in it does not fit
/// together is a checkpoint error.
pub fn restore<N: Network>(checkpoint: &Checkpoint, device: Device) -> Result<Model<N>> {
    let placed = checkpoint.on(device)?;
    restore_checked(&placed, device).map_err(|err| match err {
        Error::Checkpoint(_) | Error::Device(_) => err,
        other => Error::Checkpoint(format!("checkpoint does not fit together: {other}")),
    })
}

fn restore_checked<N: Network>(checkpoint: &Checkpoint, device: Device) -> Result<Model<N>> {
    if checkpoint.kind() != N::KIND {
        return Err(Error::Checkpoint(format!(
            "checkpoint holds a {:?} model, not a {}",
            checkpoint.kind(),
            N::KIND
        )));
    }
    let config: N::Config = checkpoint.field("config")?;
    N::check_config(&config)
        .map_err(|e| Error::Checkpoint(format!("checkpoint config is invalid: {e}")))?;
    let mut model = Model::<N>::new(config, device, 0);
    model.seeds = SeedStream {
        state: checkpoint.field("seed_state")?,
    };
    model.seed = checkpoint.field("seed")?;
    model.history = checkpoint.field("history")?;
    if !checkpoint.metadata.contains_key("spec") {
        // An unfitted model's checkpoint holds no weights and no fitted metadata.
        let fitted_parts = [
            "classes",
            "class_counts",
            "image",
            "run",
            "fit_params",
            "schema",
        ];
        if !checkpoint.tensors.is_empty()
            || fitted_parts
                .iter()
                .any(|k| checkpoint.metadata.contains_key(*k))
        {
            return Err(Error::Checkpoint(
                "checkpoint holds a fitted model's parts but lacks \"spec\"".into(),
            ));
        }
        return Ok(model);
    }
    let spec: crate::data::DataSpec = checkpoint.field("spec")?;
    check_spec(&spec)?;
    let classes: Vec<i64> = checkpoint.field("classes")?;
    if !classes.windows(2).all(|pair| pair[0] < pair[1]) {
        return Err(Error::Checkpoint(
            "checkpoint classes are not sorted and distinct".into(),
        ));
    }
    // Files saved before the counts were stored lack them (sampling then needs labels).
    let class_counts: Vec<u64> = if checkpoint.metadata.contains_key("class_counts") {
        checkpoint.field("class_counts")?
    } else {
        Vec::new()
    };
    if !class_counts.is_empty()
        && (class_counts.len() != classes.len() || class_counts.contains(&0))
    {
        return Err(Error::Checkpoint(
            "checkpoint class_counts do not give each class at least one row".into(),
        ));
    }
    let schema = read_schema(checkpoint, &spec)?;
    let layout = Layout {
        sample_shape: spec.sample_shape.clone(),
        n_classes: classes.len(),
        image: checkpoint.field("image")?,
        blocks: schema.blocks.clone(),
    };
    let image = N::arch(&model.config)
        .resolve(&spec.sample_shape)
        .map_err(|e| {
            Error::Checkpoint(format!("checkpoint data spec does not fit its arch: {e}"))
        })?;
    if image != layout.image {
        return Err(Error::Checkpoint(format!(
            "checkpoint image geometry {:?} does not match its data spec {:?}",
            layout.image, spec.sample_shape
        )));
    }
    if let Some(frame) = &schema.record.frame {
        crate::schema::frame::check(frame, &schema, &classes)?;
    }
    let version = checkpoint
        .metadata
        .get("version")
        .map_or("", String::as_str);
    N::check_saved_by(version, &layout)?;
    check_net_size::<N>(checkpoint, &model.config, &layout)?;
    // Building draws initial weights, overwritten below.
    let mut net = with_seed(0, || N::build(&model.config, &layout, device))?;
    for (name, mut var) in net.var_store().variables() {
        let _guard = tch::no_grad_guard();
        let key = format!("net.{name}");
        if !must_read::<N>(checkpoint, version, &name, &key) {
            continue;
        }
        var.f_copy_(checkpoint.sized_tensor(&key, &var)?)?;
    }
    let params: FitParams = checkpoint.field("fit_params")?;
    let counts_ok = params.epochs >= 1 && params.batch_size >= 1 && params.batches_per_step >= 1;
    // A schedule lowers the rate of a budgeted plan's later epochs only.
    let decay_ok = params
        .lr_decay_epoch
        .is_none_or(|first| params.epochs_from == "budget" && first >= 2 && first <= params.epochs);
    if !counts_ok || !decay_ok || !["budget", "given"].contains(&params.epochs_from.as_str()) {
        return Err(Error::Checkpoint(
            "checkpoint fit_params hold impossible values".into(),
        ));
    }
    model.fit_params = Some(params);
    let mut run = if checkpoint.metadata.contains_key("run") {
        Some(restore_run(
            checkpoint,
            &mut net,
            model.history.len(),
            version,
        )?)
    } else {
        None
    };
    if let Some(run) = &mut run {
        run.params.clone_from(&model.fit_params);
    }
    check_no_extra_tensors(checkpoint, &net, run.as_ref())?;
    model.fitted = Some(Fitted {
        net,
        layout,
        spec,
        schema,
        classes,
        class_counts,
        run,
    });
    Ok(model)
}

/// The column schema: the `schema` metadata, or for a version 1 checkpoint the min-max bounds of
/// its `scaler.*` tensors. It must have a column for each value of a sample.
fn read_schema(checkpoint: &Checkpoint, spec: &crate::data::DataSpec) -> Result<Schema> {
    let schema = if checkpoint.metadata.get("version").map(String::as_str) == Some("1") {
        let bound = |name: &str| -> Result<Vec<f32>> {
            let t = checkpoint.tensor(name)?;
            if t.dim() != 1 {
                return Err(Error::Checkpoint(format!(
                    "checkpoint tensor {name:?} is not a vector"
                )));
            }
            Ok(Vec::<f32>::try_from(t)?)
        };
        let (low, high) = (bound("scaler.low")?, bound("scaler.high")?);
        if low.len() != high.len() {
            return Err(Error::Checkpoint(
                "checkpoint scaler does not match its data spec".into(),
            ));
        }
        Schema::from_bounds(&low, &high, spec.integral)?
    } else {
        Schema::new(checkpoint.field::<SchemaRecord>("schema")?)?
    };
    if schema.columns() != spec.width() {
        return Err(Error::Checkpoint(format!(
            "checkpoint schema has {} columns, but its samples {}",
            schema.columns(),
            spec.width()
        )));
    }
    Ok(schema)
}

/// NumPy dtypes genaug trains on, and whether each is integral.
const DTYPES: [(&str, bool); 12] = [
    ("bool", true),
    ("int8", true),
    ("int16", true),
    ("int32", true),
    ("int64", true),
    ("uint8", true),
    ("uint16", true),
    ("uint32", true),
    ("uint64", true),
    ("float16", false),
    ("float32", false),
    ("float64", false),
];

/// A data spec as `fit` could have made it.
fn check_spec(spec: &crate::data::DataSpec) -> Result<()> {
    let rank_ok = (1..=3).contains(&spec.sample_shape.len());
    let width = spec.sample_shape.iter().try_fold(1u128, |w, &d| {
        (d > 0).then(|| w.checked_mul(d as u128)).flatten()
    });
    if !rank_ok || width.is_none_or(|w| w > crate::limits::physical_memory()) {
        return Err(Error::Checkpoint(format!(
            "checkpoint sample shape {:?} is not one genaug trains on",
            spec.sample_shape
        )));
    }
    if !DTYPES.contains(&(spec.dtype.as_str(), spec.integral)) {
        return Err(Error::Checkpoint(format!(
            "checkpoint dtype {:?} (integral: {}) is not one genaug trains on",
            spec.dtype, spec.integral
        )));
    }
    Ok(())
}

/// The checkpoint's network weights must hold at least the fully connected parameters its
/// config implies: checked before any network is built, so that a config altered to absurd
/// sizes is refused without allocating them.
fn check_net_size<N: Network>(
    checkpoint: &Checkpoint,
    config: &N::Config,
    layout: &Layout,
) -> Result<()> {
    let stored: u128 = checkpoint
        .tensors
        .iter()
        .filter(|(name, _)| name.starts_with("net."))
        .map(|(_, t)| t.numel() as u128)
        .sum();
    match crate::nets::linear_parameters(&N::linear_layers(config, layout)) {
        Some(needed) if needed <= stored => Ok(()),
        needed => Err(Error::Checkpoint(format!(
            "checkpoint config implies {} parameters, but its weights hold {stored}",
            needed.map_or("uncountably many".to_string(), |n| n.to_string())
        ))),
    }
}

/// Whether the checkpoint's tensor `key`, the stored value of variable `name`, is read: every
/// one is, except one that checkpoints of `version` did not store and this one lacks.
fn must_read<N: Network>(checkpoint: &Checkpoint, version: &str, name: &str, key: &str) -> bool {
    checkpoint.tensors.contains_key(key) || !N::added_after(version, name)
}

/// Every tensor in the checkpoint must be one the model reads.
fn check_no_extra_tensors<N: Network>(
    checkpoint: &Checkpoint,
    net: &N,
    run: Option<&Run>,
) -> Result<()> {
    let vars: Vec<String> = net.var_store().variables().into_keys().collect();
    let optimiser = match run {
        Some(_) => net
            .optimiser_state()?
            .map(|s| s.tensors.into_keys().collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let best = run.is_some_and(|r| r.best.is_some());
    let last = run.is_some_and(|r| r.last.is_some());
    for name in checkpoint.tensors.keys() {
        let known = match name.split_once('.') {
            Some(("scaler", "low" | "high")) => {
                checkpoint.metadata.get("version").map(String::as_str) == Some("1")
            }
            Some(("net", var)) => vars.iter().any(|v| v == var),
            Some(("best", var)) => best && vars.iter().any(|v| v == var),
            Some(("last", var)) => last && vars.iter().any(|v| v == var),
            Some(("optim", key)) => optimiser.iter().any(|k: &String| k == key),
            _ => false,
        };
        if !known {
            return Err(Error::Checkpoint(format!(
                "checkpoint holds a tensor {name:?} that this {} does not have",
                N::KIND
            )));
        }
    }
    Ok(())
}

/// Sets up `net`'s optimisers from the checkpoint's training run (of `epochs` epochs) and
/// returns the run.
fn restore_run<N: Network>(
    checkpoint: &Checkpoint,
    net: &mut N,
    epochs: usize,
    version: &str,
) -> Result<Run> {
    let record: RunRecord = checkpoint.field("run")?;
    let best_epoch_ok = record
        .best
        .is_none_or(|(epoch, loss)| (1..=epochs).contains(&epoch) && loss.is_finite());
    if !best_epoch_ok || (record.last && record.best.is_none()) {
        return Err(Error::Checkpoint(
            "checkpoint's early-stopping record does not match its history".into(),
        ));
    }
    let state = OptimiserState {
        tensors: checkpoint
            .tensors
            .iter()
            .filter_map(|(name, t)| {
                let name = name.strip_prefix("optim.")?;
                Some((name.to_string(), t.shallow_clone()))
            })
            .collect(),
        scalars: record.scalars,
    };
    net.start_training(None)?;
    net.load_optimiser_state(&state)?;
    // A set of weights stored under `prefix`, one tensor per variable of the net (less those
    // its version did not store).
    let weights = |prefix: &str| -> Result<Weights> {
        net.var_store()
            .variables()
            .into_iter()
            .filter(|(name, _)| {
                must_read::<N>(checkpoint, version, name, &format!("{prefix}.{name}"))
            })
            .map(|(name, var)| {
                let saved = checkpoint.sized_tensor(&format!("{prefix}.{name}"), &var)?;
                Ok((name, saved.shallow_clone()))
            })
            .collect()
    };
    let best = match record.best {
        None => None,
        Some((epoch, loss)) => Some(Best {
            loss,
            epoch,
            weights: weights("best")?,
        }),
    };
    Ok(Run {
        seed: record.seed,
        held_out: record.held_out,
        patience: record.patience,
        best,
        last: record.last.then(|| weights("last")).transpose()?,
        params: None,
    })
}
