//! `report_call`: a step of the sender's own outbound call, recorded in their history.

use protocol::{CallEvent, ErrorCode, ServerFrame};

use super::{Ctx, Refusal};

pub async fn report(ctx: &Ctx, id: u64, call: CallEvent) -> Result<ServerFrame, Refusal> {
    call.validate().map_err(|e| Refusal::new(ErrorCode::Invalid, e))?;
    let app = &ctx.app;
    let caller_id = call.queue_arn.as_deref().and_then(|arn| app.caller_ids.number_of(arn));
    app.store.record_call(&ctx.identity.principal, &call, caller_id).await?;
    Ok(ServerFrame::Ok { id })
}
