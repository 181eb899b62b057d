//! A model shared between threads and forked processes.
//!
//! Calls take turns on the model, but a fit may run for minutes, so the model is not simply
//! held behind a lock for that long: a small status record (held only for moments) says who
//! uses the model and keeps what must answer at once: the history, whether it is fitted, and
//! a [`View`] (copies of the weights of the last completed epoch) from which `sample` and the
//! other read-only calls work while a fit holds the model, on another thread, in the fit's
//! own callbacks, or in a child process forked while the fit ran (where the fitting thread no
//! longer exists and never gives the model back).
//!
//! A process forked while another thread held the status lock would inherit it held, so the
//! status lock is only ever taken under [`FORK_GATE`], which [`before_fork`] takes exclusively
//! (Python's `os.register_at_fork`) and [`after_fork`] gives back in both processes.

use crate::budget::FitParams;
use crate::data::DataSpec;
use crate::error::{Error, Result};
use crate::model::{Layout, Model, Network, View};
use crate::train::{EpochStats, Monitor, Weights};
use std::cell::{Cell, RefCell};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockWriteGuard};
use std::thread::ThreadId;
use std::time::Duration;
use tch::Device;

static FORK_GATE: RwLock<()> = RwLock::new(());

thread_local! {
    /// The gate, held by a thread that is forking.
    static FORKING: RefCell<Option<RwLockWriteGuard<'static, ()>>> = const { RefCell::new(None) };
    /// How many fits this thread is running (a callback's calls cannot wait for another fit,
    /// whose own callbacks might be waiting for this one).
    static FITS: Cell<usize> = const { Cell::new(0) };
}

/// Waits until no status lock is held, and holds them all until [`after_fork`].
pub fn before_fork() {
    let gate = FORK_GATE.write().unwrap_or_else(|p| p.into_inner());
    FORKING.with_borrow_mut(|held| *held = Some(gate));
}

/// Releases what [`before_fork`] took (in the parent and in the child).
pub fn after_fork() {
    FORKING.with_borrow_mut(|held| held.take());
}

/// Who holds a model.
struct Holder {
    process: u32,
    thread: ThreadId,
    fitting: bool,
}

impl Holder {
    fn me(fitting: bool) -> Holder {
        Holder {
            process: std::process::id(),
            thread: std::thread::current().id(),
            fitting,
        }
    }

    fn is_gone(&self) -> bool {
        self.process != std::process::id()
    }
}

/// What answers at once, whoever holds the model.
pub struct Status<N: Network> {
    holder: Option<Holder>,
    pub config: N::Config,
    pub device: Device,
    pub history: Vec<EpochStats>,
    pub fit_params: Option<FitParams>,
    pub fitted: bool,
    /// The weights of the fitted model, or of the last epoch a running fit completed.
    view: Option<View<N>>,
    /// Classes of the fitted model (empty: unconditional).
    pub classes: Vec<i64>,
    /// The frame spec of a model fitted on a DataFrame.
    pub frame: Option<String>,
}

impl<N: Network> Status<N> {
    fn of(model: &Model<N>) -> Result<Status<N>> {
        Ok(Status {
            holder: None,
            config: model.config.clone(),
            device: model.device,
            history: model.history.clone(),
            fit_params: model.fit_params.clone(),
            fitted: model.fitted.is_some(),
            view: model.view()?,
            classes: model
                .fitted
                .as_ref()
                .map_or(Vec::new(), |f| f.classes.clone()),
            frame: model
                .fitted
                .as_ref()
                .and_then(|f| f.schema.record.frame.clone()),
        })
    }

    /// The fitted model's layout and data spec (`None` before a fit completes an epoch).
    pub fn fitted_parts(&self) -> Option<(&Layout, &DataSpec)> {
        self.view.as_ref().map(|v| (&v.layout, &v.spec))
    }
}

/// What a call needs of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only (sampling, encoding, scoring): while a fit holds the model, its last
    /// completed epoch will do.
    Read,
    /// The model itself, optimiser state and all (saving, fitting).
    Full,
    /// Putting a new model in place: refused while a fit holds the model, whose caller would
    /// get back a model that is no longer the one it fitted.
    Rebuild,
}

enum Claim<N: Network> {
    Model,
    View(Box<View<N>>),
    Wait,
    Refused(Error),
}

pub struct Handle<N: Network> {
    model: Mutex<Model<N>>,
    status: Mutex<Status<N>>,
}

impl<N: Network> Handle<N> {
    pub fn new(model: Model<N>) -> Result<Handle<N>> {
        let status = Status::of(&model)?;
        Ok(Handle {
            model: Mutex::new(model),
            status: Mutex::new(status),
        })
    }

    /// Puts `model` in place of the current one once other calls are done with it, running
    /// `then` while no other call can see the model (so that what it records matches the model).
    pub fn replace(&self, model: Model<N>, then: impl FnOnce()) -> Result<()> {
        self.rebuild(|_| Ok(model), then)
    }

    /// Replaces the model with what `make` builds from it, under one claim (nothing else runs
    /// on the model in between), then runs `then`.
    pub fn rebuild(
        &self,
        make: impl FnOnce(&Model<N>) -> Result<Model<N>>,
        then: impl FnOnce(),
    ) -> Result<()> {
        self.acquire(Access::Rebuild, false)?;
        let outcome = (|| {
            let mut current = self.lock_model();
            let model = make(&current)?;
            let status = Status::of(&model)?;
            *current = model;
            drop(current);
            then();
            // The claim on the model is kept until `release` below.
            self.status(|st| {
                *st = Status {
                    holder: st.holder.take(),
                    ..status
                }
            });
            Ok(())
        })();
        self.release();
        outcome
    }

    /// Runs `f` on the status record, for a moment.
    pub fn status<R>(&self, f: impl FnOnce(&mut Status<N>) -> R) -> R {
        let _gate = FORK_GATE.read().unwrap_or_else(|p| p.into_inner());
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn lock_model(&self) -> MutexGuard<'_, Model<N>> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn claim(&self, access: Access, fitting: bool) -> Claim<N> {
        self.status(|st| {
            let Some(holder) = &st.holder else {
                st.holder = Some(Holder::me(fitting));
                return Claim::Model;
            };
            let fit_holds = holder.fitting || holder.is_gone();
            if access == Access::Rebuild && fit_holds {
                return Claim::Refused(Error::Busy(format!(
                    "this {} is being fitted; set_params only after fit returns",
                    N::KIND
                )));
            }
            if access == Access::Read && fit_holds {
                return match &st.view {
                    Some(view) => Claim::View(Box::new(view.shallow_copy())),
                    None => Claim::Refused(Error::NotFitted(format!(
                        "this {} is not fitted yet: its first fit has not completed an epoch",
                        N::KIND
                    ))),
                };
            }
            if holder.is_gone() {
                return Claim::Refused(Error::Busy(format!(
                    "this {} was in use by another thread when this process was forked, and \
                     that thread does not exist here; it can sample, encode and score, but not \
                     fit or save",
                    N::KIND
                )));
            }
            if holder.thread == std::thread::current().id() {
                return Claim::Refused(Error::Busy(format!(
                    "this {} is being fitted on this thread (is this a fit callback?); it can \
                     sample there, but fit and save only after fit returns",
                    N::KIND
                )));
            }
            if holder.fitting && FITS.get() > 0 {
                return Claim::Refused(Error::Busy(format!(
                    "this {} is being fitted on another thread, and a fit callback cannot wait \
                     for it (that fit's callbacks may be waiting for this one)",
                    N::KIND
                )));
            }
            Claim::Wait
        })
    }

    /// Claims the model (or, for reads while a fit holds it, a view), waiting while another
    /// thread's call holds it.
    fn acquire(&self, access: Access, fitting: bool) -> Result<Option<View<N>>> {
        crate::device::check_usable(self.status(|st| st.device))?;
        let mut pause = Duration::from_micros(50);
        loop {
            match self.claim(access, fitting) {
                Claim::Model => return Ok(None),
                Claim::View(view) => return Ok(Some(*view)),
                Claim::Refused(err) => return Err(err),
                Claim::Wait => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
            }
        }
    }

    fn release(&self) {
        self.status(|st| st.holder = None);
    }

    /// Runs `f` on the model once other calls are done with it; with [`Access::Read`], on a
    /// model rebuilt from the last completed epoch while a fit holds the model.
    pub fn with<R>(&self, access: Access, f: impl FnOnce(&mut Model<N>) -> Result<R>) -> Result<R> {
        match self.acquire(access, false)? {
            Some(view) => {
                let mut model = view.model()?;
                let outcome = f(&mut model);
                // Unseeded calls advance the view's copy of the seed stream.
                self.status(|st| {
                    if let Some(view) = &mut st.view {
                        view.seeds = model.seeds;
                    }
                });
                outcome
            }
            None => {
                let outcome = f(&mut self.lock_model());
                self.release();
                outcome
            }
        }
    }

    /// Runs `fit` on the model, publishing each completed epoch's history and weights, and the
    /// whole model's once it returns.
    pub fn fit(
        &self,
        monitor: &mut dyn Monitor,
        fit: impl FnOnce(&mut Model<N>, &mut dyn Monitor, &mut dyn FnMut(View<N>)) -> Result<()>,
    ) -> Result<()> {
        self.acquire(Access::Full, true)?;
        FITS.set(FITS.get() + 1);
        let mut model = self.lock_model();
        let mut mirror = Mirror {
            inner: monitor,
            handle: self,
        };
        let outcome = fit(&mut model, &mut mirror, &mut |view| {
            self.status(|st| {
                st.fitted = true;
                st.classes = view.classes.clone();
                st.frame.clone_from(&view.schema.record.frame);
                st.view = Some(view);
            })
        });
        let view = model.view();
        self.status(|st| {
            st.history = model.history.clone();
            st.fit_params.clone_from(&model.fit_params);
            st.fitted = model.fitted.is_some();
            st.classes = model
                .fitted
                .as_ref()
                .map_or(Vec::new(), |f| f.classes.clone());
            st.frame = model
                .fitted
                .as_ref()
                .and_then(|f| f.schema.record.frame.clone());
            if let Ok(view) = &view {
                st.view = view.as_ref().map(View::shallow_copy);
            }
        });
        drop(model);
        FITS.set(FITS.get() - 1);
        self.release();
        view?;
        outcome
    }
}

/// Mirrors each completed epoch into the status record before the caller's monitor sees it.
struct Mirror<'a, N: Network> {
    inner: &'a mut dyn Monitor,
    handle: &'a Handle<N>,
}

impl<N: Network> Monitor for Mirror<'_, N> {
    fn between_batches(&mut self) -> Result<()> {
        self.inner.between_batches()
    }

    fn after_epoch(&mut self, stats: &EpochStats) -> Result<bool> {
        self.handle.status(|st| {
            // A fresh fit's first epoch starts a new history.
            if stats.get("epoch") == Some(&1.0) {
                st.history.clear();
            }
            st.history.push(stats.clone());
        });
        self.inner.after_epoch(stats)
    }

    fn epoch_weights(&mut self, weights: &Weights) -> Result<()> {
        self.inner.epoch_weights(weights)
    }

    fn begin(&mut self, epochs: usize, done: usize) -> Result<()> {
        self.inner.begin(epochs, done)
    }

    fn warn(&mut self, message: &str) -> Result<()> {
        self.inner.warn(message)
    }
}
