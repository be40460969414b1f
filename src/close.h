/* funneld — closed-won: reading the lead's touches and crediting revenue.
 *
 * Revenue counters (per model, currency; all-time and per month of close):
 *   P:{T}:revenue:<model>:<CUR>[:<YYYY-MM>]  hash
 *     channel:<channel>, campaign:<campaign>  credited minor units
 *     total (won amount), deals (won deals), unattributed (amount of deals
 *     with no touch in the lookback window) */
#ifndef FD_CLOSE_H
#define FD_CLOSE_H

#include "apply.h"
#include "lead.h"

/* Attributes the closed-won ce of lead (entered at closed_at in cycle) over
 * proc->close_touches, counts revenue and queues the AttributionEvent. */
/* The deal's currency: ce->currency, or "XXX" (no currency) when absent. */
const char *fd_close_currency(const fd_crm_event *ce);

/* Counts the journey of a lead closing at closed_at (its channels in the
 * lookback window of proc->close_touches, oldest first) in the Markov
 * transition counts P:{T}:markov and P:{T}:markov:<month of the close>:
 * start -> channels -> (conversion) when won, (null) when lost. A journey
 * without a touch is not counted. */
int fd_close_journey(fd_processor *proc, const fd_lead *lead, int64_t closed_at,
                     int converted);

/* Reads for the closes of a batch, made before it is applied (see
 * close.c): fd_close_queue_reads queues round one's (for each close: the
 * lead's anonymous ids and touches) in r; fd_close_take_replies takes the
 * replies of a round (setting them NULL in replies);
 * fd_close_queue_anons queues round two's (the touches of the anonymous
 * ids stitched to a closing lead); fd_close_reads_clear forgets them (the
 * replies are in the store's reply arena). */
int fd_close_queue_reads(fd_processor *proc, const fd_msg *msgs, size_t n,
                         fd_resp *r);
void fd_close_take_replies(fd_processor *proc, redisReply **replies);
int fd_close_queue_anons(fd_processor *proc, const fd_msg *msgs, size_t n,
                         fd_resp *r);
void fd_close_reads_clear(fd_processor *proc);

int fd_close_won(fd_processor *proc, const fd_lead *lead,
                 const fd_crm_event *ce, int64_t closed_at, int32_t cycle,
                 int32_t partition);

#endif
