"""Perseus, Zeus's pipeline frequency optimizer client (zeus.optimizer.pipeline_frequency),
over libzeus's (zeus/pipeline_frequency.h).

    from zeusc.optimizer.pipeline_frequency import PipelineFrequencyOptimizer  # was: from zeus...
    pfo = PipelineFrequencyOptimizer(rank, dp_rank, pp_rank, tp_rank, device_id,
                                     dp_degree, pp_degree, tp_degree, world_size,
                                     "http://pfo-server:8000")
    for step in ...:
        for name, run in instructions:       # "forward", "backward"
            pfo.on_instruction_begin(name)   # queues the planned SM frequency
            run()
        pfo.on_step_end()

The server is `zeus pfo-server` or Zeus's own; the protocol is Zeus's. As in Zeus, rank 0
registers the job and torch.distributed broadcasts its id (PyTorch is imported only then);
without PyTorch, register the job with register_job() and pass job_id= to every rank.
"""

from zeusc.optimizer.pipeline_frequency.optimizer import PipelineFrequencyOptimizer, register_job

__all__ = ["PipelineFrequencyOptimizer", "register_job"]
