//! What the views share: the state ([`Shared`]), their properties ([`ViewProps`]), and
//! [`Page`], the component each view is: a [`View`] names its own messages, how they change the
//! state, and how it renders.

use std::cell::{Ref, RefCell, RefMut};
use std::marker::PhantomData;
use std::rc::Rc;

use protocol::Millis;
use yew::html::Scope;
use yew::prelude::*;

use crate::state::{Effect, PanelState};

/// The panel's state, shared by the root and the views. Only the views' and the root's `update`
/// change it, never a `view`.
#[derive(Clone, Default)]
pub struct Shared(Rc<RefCell<PanelState>>);

impl Shared {
    pub fn borrow(&self) -> Ref<'_, PanelState> {
        self.0.borrow()
    }

    pub fn borrow_mut(&self) -> RefMut<'_, PanelState> {
        self.0.borrow_mut()
    }
}

/// What every view gets: the state, its version (bumped by every change, so comparing
/// properties is cheap), the clock, and where to hand what a change asks for.
#[derive(Properties, Clone)]
pub struct ViewProps {
    pub state: Shared,
    pub version: u64,
    pub now: Millis,
    pub effects: Callback<Vec<Effect>>,
}

impl PartialEq for ViewProps {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
            && self.now == other.now
            && Rc::ptr_eq(&self.state.0, &other.state.0)
            && self.effects == other.effects
    }
}

/// One view of the panel (status, chat, caller ID, ...), shown by the root as a [`Page`].
pub trait View: Sized + 'static {
    /// What the agent does in this view.
    type Msg: 'static;

    /// Changes the state for `msg`; the root performs what the change asks for and renders.
    fn change(state: &mut PanelState, msg: Self::Msg, props: &ViewProps) -> Vec<Effect>;

    fn view(link: &Scope<Page<Self>>, state: &PanelState, props: &ViewProps) -> Html;
}

/// The component of a [`View`]; it renders again when the state's version or the clock changes.
pub struct Page<V>(PhantomData<V>);

impl<V: View> Component for Page<V> {
    type Message = V::Msg;
    type Properties = ViewProps;

    fn create(_ctx: &Context<Self>) -> Self {
        Self(PhantomData)
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        let props = ctx.props();
        let effects = V::change(&mut props.state.borrow_mut(), msg, props);
        props.effects.emit(effects);
        false
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let props = ctx.props();
        V::view(ctx.link(), &props.state.borrow(), props)
    }
}
